/**
 * SASRec-style training examples with dynamic padding. Each user contributes one row: the last
 * L + 1 events of its TRAIN part (before the validation target); the encoder reads events
 * 0..n−2 of the row and position t is trained to predict event t+1, so every event after the
 * first is a positive whose history is exactly the events before it. Batches group users of
 * similar length (sorted by length with a seeded tie-break, then cut into batches whose order is
 * shuffled), so the padded length Lb of a batch is close to its rows' lengths: Beauty's mean length
 * is 9, and padding everything to L = 50 would waste ≈5× compute.
 * Shapes: R training rows, B rows per batch.
 */
import { requireArg } from "../core/errors.ts";
import type { Rng } from "../core/rng.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import type { Split } from "../data/splits.ts";

/** Training rows as event ranges of the data set. */
export interface TrainingRows {
  /** [R] user code of each row. */
  users: Int32Array;
  /** [R] first event of the row (inputs start here). */
  starts: Int32Array;
  /** [R] one past the last event of the row (the last positive is ends−1). */
  ends: Int32Array;
  /** [R] first event of the row's user (for the time gap of the first input). */
  firsts: Int32Array;
  /** Number of positives (Σ (ends − starts − 1)). */
  positives: number;
}

/**
 * One row per user with ≥ 2 train events: the last `maxLen + 1` events before `split.validStart`.
 */
export function trainingRows(ds: CompiledDataset, split: Split, maxLen: number): TrainingRows {
  requireArg(Number.isInteger(maxLen) && maxLen >= 1, "maxLen", `expected an integer ≥ 1, got ${maxLen}`);
  const users: number[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  const firsts: number[] = [];
  let positives = 0;
  for (let u = 1; u < ds.offsets.length - 1; u++) {
    const first = ds.offsets[u];
    const end = split.validStart[u];
    if (end - first < 2) continue;
    const start = Math.max(first, end - (maxLen + 1));
    users.push(u);
    starts.push(start);
    ends.push(end);
    firsts.push(first);
    positives += end - start - 1;
  }
  return {
    users: Int32Array.from(users),
    starts: Int32Array.from(starts),
    ends: Int32Array.from(ends),
    firsts: Int32Array.from(firsts),
    positives,
  };
}

/** [N] how often each item is a training positive (the in-batch sampler's f_i). */
export function positiveFrequency(ds: CompiledDataset, rows: TrainingRows): Float64Array {
  const f = new Float64Array(ds.itemVocab.size);
  for (let r = 0; r < rows.users.length; r++) {
    for (let e = rows.starts[r] + 1; e < rows.ends[r]; e++) f[ds.items[e]]++;
  }
  return f;
}

/**
 * One epoch's batches: arrays of row indices, rows of similar length together, batch order
 * shuffled. A batch holds at most `batchSize` rows and, when `maxPositions` is finite, at most that
 * many padded positions (rows × the longest row's positives): the full softmax's [positions, N]
 * logits stay bounded, so batches of long rows hold fewer users. Deterministic for a given rng state.
 */
export function lengthBucketedBatches(
  rows: TrainingRows,
  batchSize: number,
  rng: Rng,
  maxPositions = Number.POSITIVE_INFINITY,
): Int32Array[] {
  requireArg(
    Number.isInteger(batchSize) && batchSize >= 1,
    "batchSize",
    `expected an integer ≥ 1, got ${batchSize}`,
  );
  requireArg(maxPositions >= 1, "maxPositions", `expected ≥ 1 position per batch, got ${maxPositions}`);
  const R = rows.users.length;
  const key = new Float64Array(R);
  // length + a random fraction: sorts by length, shuffles within a length.
  for (let r = 0; r < R; r++) key[r] = rows.ends[r] - rows.starts[r] + rng.float();
  const order = Int32Array.from({ length: R }, (_, r) => r).sort((a, b) => key[a] - key[b]);
  const batches: Int32Array[] = [];
  let a = 0;
  while (a < R) {
    // Ascending lengths: the batch's padded length is that of its last (longest) row.
    let b = a + 1;
    while (b < R && b - a < batchSize) {
      const positions = rows.ends[order[b]] - rows.starts[order[b]] - 1;
      if ((b - a + 1) * positions > maxPositions) break;
      b++;
    }
    batches.push(order.slice(a, b));
    a = b;
  }
  return rng.shuffle(batches);
}
