/**
 * The model behind the eval scorer contract (`src/eval/scorer.ts`, `EmbeddingScorer`): item
 * embeddings from the item tower over the whole catalogue, user embeddings from the last L events
 * of each history (the last hidden state) fused with the request context. A `loo` batch carries no
 * context, so every row is scored with `present = 0` (the "no context" path): pseudo-context is a
 * training-time device and cannot reach evaluation. Inference only: no dropout.
 * Shapes: B users, Lb ≤ L, d width, N items.
 */
import * as tf from "@tensorflow/tfjs-core";
import { selectRows } from "../engine/sparseEmbedding.ts";
import type { EmbeddingScorer, HistoryBatch } from "../eval/scorer.ts";
import { allItemEmbeddings } from "./itemTower.ts";
import { type CtxrecModel, itemReps, type RowContext, userStates } from "./model.ts";
import { sequenceBatch } from "./sequences.ts";

/** A context input with no context for any of `P` rows (k = 1, empty slot). */
export function noContext(P: number): RowContext["input"] {
  return { k: 1, catIds: new Int32Array(P), weights: new Float32Array(P), present: new Uint8Array(P) };
}

/** Rows per encoder call inside one scoring batch. */
const CHUNK = 64;

/**
 * User embeddings [B, d] of a batch of histories (last L events each, no context). Rows are
 * encoded in chunks of similar length (dynamic padding, as in training): a batch in user order
 * mixes 5-event and 200-event users, and padding all to L would cost ≈5× on Beauty.
 */
export function embedHistories(m: CtxrecModel, batch: HistoryBatch): Float32Array {
  const B = batch.size;
  const d = m.config.encoder.dim;
  const order = Int32Array.from({ length: B }, (_, b) => b).sort(
    (x, y) => historyLength(batch, x) - historyLength(batch, y) || x - y,
  );
  const out = new Float32Array(B * d);
  for (let a = 0; a < B; a += CHUNK) {
    const rows = order.subarray(a, Math.min(B, a + CHUNK));
    const u = embedRows(m, batch, rows);
    rows.forEach((b, j) => {
      out.set(u.subarray(j * d, (j + 1) * d), b * d);
    });
  }
  return out;
}

function historyLength(batch: HistoryBatch, b: number): number {
  return batch.historyOffsets[b + 1] - batch.historyOffsets[b];
}

/** User embeddings [R, d] of the batch rows `rows` [R]. */
function embedRows(m: CtxrecModel, batch: HistoryBatch, rows: Int32Array): Float32Array {
  const L = m.config.encoder.maxLen;
  const B = rows.length;
  const starts = new Int32Array(B);
  const ends = new Int32Array(B);
  const firsts = new Int32Array(B);
  for (let j = 0; j < B; j++) {
    const b = rows[j];
    firsts[j] = batch.historyOffsets[b];
    ends[j] = batch.historyOffsets[b + 1];
    starts[j] = Math.max(firsts[j], ends[j] - L);
  }
  const seq = sequenceBatch(batch, starts, ends, firsts, L);
  const P = B * seq.len;
  const sel = selectRows(seq.items, m.item.ids.rows, "history items");
  // The last real slot of each row; an empty history reads slot 0 (padding only: a defined, finite vector).
  const last = Int32Array.from(seq.lengths, (n, j) => j * seq.len + Math.max(0, n - 1));
  const demographics: Record<string, Int32Array> = {};
  for (const [field, codes] of Object.entries(batch.demographics)) {
    demographics[field] = Int32Array.from({ length: P }, (_, i) => codes[rows[Math.floor(i / seq.len)]]);
  }
  return tf.tidy(() => {
    const reps = itemReps(m, sel.rows, m.item.ids.gatherRows(sel.rows));
    const u = userStates(m, seq, reps, sel.local, { input: noContext(P), demographics }, undefined);
    return tf.gather(u, tf.tensor1d(last, "int32")).dataSync() as Float32Array;
  });
}

/** The model as an `EmbeddingScorer` for `evaluateLoo`. */
export function createModelScorer(m: CtxrecModel, name: string): EmbeddingScorer {
  let items: Float32Array | undefined;
  return {
    kind: "embedding",
    name,
    dim: m.config.encoder.dim,
    itemEmbeddings: () => {
      items ??= allItemEmbeddings(m.item, m.features);
      return items;
    },
    userEmbeddings: async (batch) => embedHistories(m, batch),
  };
}
