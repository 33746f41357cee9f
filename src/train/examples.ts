/**
 * SASRec-style training examples with dynamic padding. Each user contributes one row, the last
 * L + 1 events of its TRAIN part (before the validation target), or under `windows: "all"` one row
 * per L + 1 events of it; the encoder reads events
 * 0..n−2 of the row and position t is trained to predict event t+1, so every event after the
 * first is a positive whose history is exactly the events before it. Batches group users of
 * similar length (sorted by length with a seeded tie-break, then cut into batches whose order is
 * shuffled), so the padded length Lb of a batch is close to its rows' lengths: Beauty's mean length
 * is 9, and padding everything to L = 50 would waste ≈5× compute.
 * Shapes: R training rows, B rows per batch.
 */
import { requireArg, requireChoice } from "../core/errors.ts";
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

/** Which parts of a user's train history become rows (TrainArgs.windows). */
export const WINDOWS = ["last", "all"] as const;
/**
 * - "last": one row per user, its last `maxLen + 1` train events (SASRec's code, the PyTorch peer):
 *   the events before them are never a positive.
 * - "all": the history cut from its end into windows of `maxLen + 1` events, each older window
 *   ending on the event that the newer one starts with (its last positive is the newer one's first
 *   input), so every train event after the user's first is a positive exactly once. A history of at most
 *   `maxLen + 1` events gives the same single row as "last": data of short histories (Beauty:
 *   mean 9, 127 of 22,363 users longer than 51) barely change, long ones (ML-100K: mean 104)
 *   train on ≈2.4× the positives.
 */
export type Windows = (typeof WINDOWS)[number];

/**
 * Rows of every user with ≥ 2 train events (before `split.validStart`): under "last" its last
 * `maxLen + 1` events; under "all" also the earlier windows (see WINDOWS), newest first per user.
 */
export function trainingRows(
  ds: CompiledDataset,
  split: Split,
  maxLen: number,
  windows: Windows = "last",
): TrainingRows {
  requireArg(Number.isInteger(maxLen) && maxLen >= 1, "maxLen", `expected an integer ≥ 1, got ${maxLen}`);
  requireChoice(windows, WINDOWS, "windows");
  const users: number[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  const firsts: number[] = [];
  let positives = 0;
  for (let u = 1; u < ds.offsets.length - 1; u++) {
    const first = ds.offsets[u];
    const end = split.validStart[u];
    if (end - first < 2) continue;
    // A window [start, stop) trains the positives start+1 .. stop−1; the next (older) window ends at
    // start + 1 so that its last positive is this window's first input and no positive repeats.
    for (let stop = end; ; ) {
      const start = Math.max(first, stop - (maxLen + 1));
      users.push(u);
      starts.push(start);
      ends.push(stop);
      firsts.push(first);
      positives += stop - start - 1;
      if (windows === "last" || start === first) break;
      stop = start + 1;
    }
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

/** How an epoch's rows are cut into batches (TrainArgs.batching). Every kind shuffles the batch order. */
export const BATCHINGS = ["length", "positions", "pooled", "shuffled"] as const;
/**
 * - "length": rows sorted by length (seeded tie-break), cut every `batchSize` rows: least padding,
 *   but a batch of short rows holds fewer positions than one of long rows, so under a per-batch
 *   mean loss a short history's positions weigh more, and batches are length-homogeneous.
 * - "positions": sorted as "length", cut every ≈ `batchSize × mean positives per row` REAL
 *   positions (token-budget batching): every position weighs the same in the epoch's loss.
 * - "pooled": the rows shuffled, then sorted by length within pools of `POOL_BATCHES` batches and
 *   cut as "length": each epoch mixes different users into a batch, at little more padding.
 * - "shuffled": a uniform random sample of users per batch (SASRec's code, the PyTorch peer): the
 *   most padding (a batch's Lb is its longest row's).
 */
export type Batching = (typeof BATCHINGS)[number];

/** Batches per pool under "pooled". */
export const POOL_BATCHES = 16;

/**
 * One epoch's batches: arrays of row indices into `rows`. A batch holds at most `batchSize` rows
 * (under "positions": about `batchSize` rows' worth of positions) and, when `maxPositions` is
 * finite, at most that many padded positions (rows × the longest row's positives; under
 * "shuffled", real positions): the full softmax's [positions, N] logits stay bounded, so batches
 * of long rows hold fewer users. One row always makes a batch. Deterministic for a given rng state.
 */
export function epochBatches(
  batching: Batching,
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
  requireChoice(batching, BATCHINGS, "batching");
  const R = rows.users.length;
  const positions = Int32Array.from({ length: R }, (_, r) => rows.ends[r] - rows.starts[r] - 1);
  const padded = (n: number, longest: number) => n * longest <= maxPositions;
  if (batching === "shuffled") {
    const order = rng.shuffle(Int32Array.from({ length: R }, (_, r) => r));
    return cutBatches(order, positions, (n, sum) => n <= batchSize && sum <= maxPositions);
  }
  if (batching === "pooled") {
    const order = rng.shuffle(Int32Array.from({ length: R }, (_, r) => r));
    const batches: Int32Array[] = [];
    const pool = POOL_BATCHES * batchSize;
    for (let a = 0; a < R; a += pool) {
      const sorted = sortByLength(order.slice(a, a + pool), positions, rng);
      batches.push(
        ...cutBatches(sorted, positions, (n, _s, longest) => n <= batchSize && padded(n, longest)),
      );
    }
    return rng.shuffle(batches);
  }
  const sorted = sortByLength(
    Int32Array.from({ length: R }, (_, r) => r),
    positions,
    rng,
  );
  const budget = batchSize * Math.max(1, rows.positives / Math.max(1, R));
  const fits =
    batching === "positions"
      ? (_n: number, sum: number, longest: number) => sum <= budget && padded(_n, longest)
      : (n: number, _s: number, longest: number) => n <= batchSize && padded(n, longest);
  return rng.shuffle(cutBatches(sorted, positions, fits));
}

/** The "length" batching; kept as a name for benches and tests that cut batches themselves. */
export function lengthBucketedBatches(
  rows: TrainingRows,
  batchSize: number,
  rng: Rng,
  maxPositions = Number.POSITIVE_INFINITY,
): Int32Array[] {
  return epochBatches("length", rows, batchSize, rng, maxPositions);
}

/** `rows` sorted by length, ties in a seeded random order (a random fraction added to the length). */
function sortByLength(rows: Int32Array, positions: Int32Array, rng: Rng): Int32Array {
  const key = new Float64Array(positions.length);
  // The key is the row's event count (positives + 1), as it has been since this sort was written:
  // the same draws and keys keep the default "length" batches of every seed unchanged.
  for (const r of rows) key[r] = positions[r] + 1 + rng.float();
  return rows.sort((a, b) => key[a] - key[b]);
}

/**
 * Cuts `order` into consecutive batches, each as long as `fits(rows, Σ positives, the longest
 * row's positives)` holds (a batch always takes its first row).
 */
function cutBatches(
  order: Int32Array,
  positions: Int32Array,
  fits: (rows: number, sum: number, longest: number) => boolean,
): Int32Array[] {
  const batches: Int32Array[] = [];
  let a = 0;
  while (a < order.length) {
    let sum = positions[order[a]];
    let longest = sum;
    let b = a + 1;
    while (b < order.length) {
      const p = positions[order[b]];
      if (!fits(b - a + 1, sum + p, Math.max(longest, p))) break;
      sum += p;
      longest = Math.max(longest, p);
      b++;
    }
    batches.push(order.slice(a, b));
    a = b;
  }
  return batches;
}
