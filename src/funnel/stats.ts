/**
 * Small order statistics used by the funnel: the median of a sample and a top-K selection that
 * does not sort the whole catalogue.
 */
import { requireArg } from "../core/errors.ts";

/**
 * Median of `values` (the mean of the two middle values for an even count); NaN for an empty
 * sample, so a CG that returned nothing shows "no value" rather than a fake 0. Does not modify input.
 */
export function median(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const mid = n >> 1;
  return n % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The `k` indices with the highest `score(i)` among `candidates`, best first. Ties go to the lower
 * `tie(i)` (a stable, seed-derived rank) so results never depend on iteration order.
 * O(n log k) with a binary min-heap of size k.
 *
 * @param candidates item indices to choose from `[n]`
 * @param score score of an item index; items scoring NaN are skipped
 */
export function topK(
  candidates: ArrayLike<number>,
  k: number,
  score: (i: number) => number,
  tie: (i: number) => number,
): { index: number; score: number }[] {
  requireArg(Number.isInteger(k) && k >= 0, "k", `k must be an integer ≥ 0, got ${k}`);
  const heapIdx: number[] = [];
  const heapScore: number[] = [];
  // `worse(a, b)`: entry a ranks below entry b (lower score, or equal score and higher tie rank).
  const worse = (a: number, b: number) =>
    heapScore[a] < heapScore[b] || (heapScore[a] === heapScore[b] && tie(heapIdx[a]) > tie(heapIdx[b]));
  const swap = (a: number, b: number) => {
    [heapIdx[a], heapIdx[b]] = [heapIdx[b], heapIdx[a]];
    [heapScore[a], heapScore[b]] = [heapScore[b], heapScore[a]];
  };
  const siftDown = (start: number) => {
    let p = start;
    for (;;) {
      const l = 2 * p + 1;
      const r = l + 1;
      let m = p;
      if (l < heapIdx.length && worse(l, m)) m = l;
      if (r < heapIdx.length && worse(r, m)) m = r;
      if (m === p) return;
      swap(p, m);
      p = m;
    }
  };
  if (k === 0) return [];
  for (let c = 0; c < candidates.length; c++) {
    const i = candidates[c];
    const s = score(i);
    if (Number.isNaN(s)) continue;
    if (heapIdx.length < k) {
      heapIdx.push(i);
      heapScore.push(s);
      let q = heapIdx.length - 1;
      while (q > 0) {
        const parent = (q - 1) >> 1;
        if (!worse(q, parent)) break;
        swap(q, parent);
        q = parent;
      }
    } else if (s > heapScore[0] || (s === heapScore[0] && tie(i) < tie(heapIdx[0]))) {
      heapIdx[0] = i;
      heapScore[0] = s;
      siftDown(0);
    }
  }
  const out = heapIdx.map((index, j) => ({ index, score: heapScore[j] }));
  out.sort((a, b) => b.score - a.score || tie(a.index) - tie(b.index));
  return out;
}
