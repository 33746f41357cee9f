/**
 * The context input of the model, per example: the top-k interest categories of a (subject) item
 * with their confidences normalised to sum 1, and a flag for "no context". Plus the top-k
 * selection shared by real context (`contextFromItems`) and pseudo-context (`pseudoContext`), so
 * the two agree exactly when no corruption is applied.
 *
 * Glossary: P examples (rows), k slots per row, C categories, N items.
 */
import type { CompiledDataset } from "../data/dataset.ts";

/** The item → categories CSR arrays a context is read from (a CompiledDataset has them). */
export type ItemCategories = Pick<CompiledDataset, "catOffsets" | "catIds" | "catConf">;

/**
 * The context of P examples (structurally the model's `ContextInput`). A row without context has
 * `present = 0` AND every slot empty (catIds 0, weights 0), so either test is enough.
 */
export interface ContextBatch {
  /** Slots per row. */
  k: number;
  /** [P, k] category codes, 0 = empty slot; filled slots come first, by decreasing weight. */
  catIds: Int32Array;
  /** [P, k] weights, summing to 1 over the non-empty slots of a present row (0 in empty slots). */
  weights: Float32Array;
  /** [P] 1 = the row has a context, 0 = none (item without categories, padding, or dropped out). */
  present: Uint8Array;
  /** [P] the subject item of each row, 0 = none (a request's; training derives it from the slot). */
  subjects?: Int32Array;
}

/** A batch of P rows with no context (all slots empty, present 0). */
export function emptyContextBatch(P: number, k: number): ContextBatch {
  return { k, catIds: new Int32Array(P * k), weights: new Float32Array(P * k), present: new Uint8Array(P) };
}

/**
 * Writes the top-k of the categories ids[from..to) with confidences conf[from..to) into row `row`
 * of `batch`, by decreasing confidence; ties keep the earlier one first (the item's file order), so
 * the choice is deterministic. Insertion into the k slots: O((to − from)·k), no allocation. The
 * row must be empty on entry.
 *
 * @returns the number of slots filled, min(k, to − from)
 */
export function writeTopK(
  ids: ArrayLike<number>,
  conf: ArrayLike<number>,
  from: number,
  to: number,
  batch: ContextBatch,
  row: number,
): number {
  const k = batch.k;
  const o = row * k;
  const outIds = batch.catIds;
  const outW = batch.weights;
  let filled = 0;
  for (let j = from; j < to; j++) {
    // Compare in float32, the precision the slot stores, so ties are ties.
    const c = Math.fround(conf[j]);
    let s = filled;
    while (s > 0 && outW[o + s - 1] < c) s--;
    if (s >= k) continue;
    for (let t = Math.min(filled, k - 1); t > s; t--) {
      outIds[o + t] = outIds[o + t - 1];
      outW[o + t] = outW[o + t - 1];
    }
    outIds[o + s] = ids[j];
    outW[o + s] = c;
    if (filled < k) filled++;
  }
  return filled;
}

/** Divides the first `filled` weights of row `row` by their sum and marks the row present. */
export function normaliseRow(batch: ContextBatch, row: number, filled: number): void {
  const o = row * batch.k;
  let sum = 0;
  for (let s = 0; s < filled; s++) sum += batch.weights[o + s];
  // Confidences are > 0 (schema: (0, 1]) and jitter is multiplicative, so sum > 0 when filled > 0.
  for (let s = 0; s < filled; s++) batch.weights[o + s] /= sum;
  batch.present[row] = filled > 0 ? 1 : 0;
}
