/**
 * Sparse category vectors and the similarity math of the funnel simulator.
 *
 * A catalogue item is a sparse vector over the C interest categories (category id → confidence).
 * The simulator compares thousands of items with one subject item per request, so besides the pure
 * pair-wise `cosineSparse` there is `scatter` + `cosineAgainstDense`: the subject is written once
 * into a dense scratch vector `[C]` and each item is a short sparse dot product against it.
 */
import { CtxrecError } from "../core/errors.ts";

/** A sparse vector: parallel arrays of category indices (strictly increasing) and values. */
export interface SparseVec {
  ids: ArrayLike<number>;
  values: ArrayLike<number>;
}

/** Throws CTXREC_ERR_SHAPE unless `ids` and `values` have the same length and `ids` increase strictly. */
export function assertSparse(v: SparseVec, what: string): void {
  if (v.ids.length !== v.values.length) {
    throw new CtxrecError(
      "CTXREC_ERR_SHAPE",
      `ids has ${v.ids.length} entries but values has ${v.values.length}; give one value per id`,
      { param: what },
    );
  }
  for (let i = 1; i < v.ids.length; i++) {
    if (!(v.ids[i] > v.ids[i - 1])) {
      throw new CtxrecError(
        "CTXREC_ERR_SHAPE",
        `ids must increase strictly, got ${v.ids[i - 1]} then ${v.ids[i]} at index ${i}; sort and merge duplicates`,
        { param: what },
      );
    }
  }
}

/** L2 norm of a sparse vector. */
export function norm(v: SparseVec): number {
  let s = 0;
  for (let i = 0; i < v.values.length; i++) s += v.values[i] * v.values[i];
  return Math.sqrt(s);
}

/** Dot product of two sparse vectors with sorted ids (a merge walk, O(|a| + |b|)). */
export function dotSparse(a: SparseVec, b: SparseVec): number {
  let i = 0;
  let j = 0;
  let s = 0;
  while (i < a.ids.length && j < b.ids.length) {
    const x = a.ids[i];
    const y = b.ids[j];
    if (x === y) {
      s += a.values[i++] * b.values[j++];
    } else if (x < y) i++;
    else j++;
  }
  return s;
}

/**
 * Cosine similarity of two sparse vectors. An empty (all-zero) vector has similarity 0 with
 * everything: an item without categories is related to nothing by its categories.
 */
export function cosineSparse(a: SparseVec, b: SparseVec): number {
  const na = norm(a);
  const nb = norm(b);
  if (na === 0 || nb === 0) return 0;
  return dotSparse(a, b) / (na * nb);
}

/** Writes `v` into the dense scratch vector `dense` `[C]` (which must be all zero where v is set). */
export function scatter(v: SparseVec, dense: Float64Array): void {
  for (let i = 0; i < v.ids.length; i++) dense[v.ids[i]] = v.values[i];
}

/** Resets the entries of `dense` that `v` set, so the scratch vector can be reused. */
export function unscatter(v: SparseVec, dense: Float64Array): void {
  for (let i = 0; i < v.ids.length; i++) dense[v.ids[i]] = 0;
}

/**
 * Cosine between the CSR row `[start, end)` of (`ids`, `values`) with L2 norm `rowNorm` and a dense
 * vector `dense` `[C]` with L2 norm `denseNorm`. Same value as `cosineSparse` on the two vectors.
 */
export function cosineAgainstDense(
  ids: ArrayLike<number>,
  values: ArrayLike<number>,
  start: number,
  end: number,
  rowNorm: number,
  dense: Float64Array,
  denseNorm: number,
): number {
  if (rowNorm === 0 || denseNorm === 0) return 0;
  let s = 0;
  for (let p = start; p < end; p++) s += values[p] * dense[ids[p]];
  return s / (rowNorm * denseNorm);
}
