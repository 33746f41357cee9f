/**
 * Maximum-inner-product search (MIPS) through a nearest-neighbour graph.
 *
 * Inner product is not a metric: on unnormalised vectors a long item vector is the "nearest" to
 * many queries, and an HNSW graph built with the `ip` distance loses recall (the triangle-ish
 * inequality its greedy walk relies on does not hold). The standard fix (Bachrach et al. 2014,
 * "Speeding up the Xbox recommender system using a Euclidean transformation for inner-product
 * spaces") appends one coordinate so every item has the same norm M = max_i ‖v_i‖:
 *
 *   item  v ↦ [v, √(M² − ‖v‖²)]   (‖·‖ = M for every item)
 *   query u ↦ [u, 0]
 *
 * Then [u,0]·[v,√…] = u·v exactly, and because all items share one norm, ranking by inner product
 * equals ranking by cosine and by Euclidean distance: the graph searches a true metric space.
 * For vectors that are already L2-normalised the extra coordinate is ≈ 0 and the transform is
 * harmless. Measured effect: docs/vector-index.md.
 */

/** Appends the norm-equalising coordinate to each row of `[N, d]`; returns `[N, d+1]` and M. */
export function augmentItems(
  vectors: Float32Array,
  n: number,
  d: number,
): { vectors: Float32Array; maxNorm: number } {
  const norms2 = new Float64Array(n);
  let max2 = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += vectors[i * d + j] * vectors[i * d + j];
    norms2[i] = s;
    if (s > max2) max2 = s;
  }
  const out = new Float32Array(n * (d + 1));
  for (let i = 0; i < n; i++) {
    out.set(vectors.subarray(i * d, (i + 1) * d), i * (d + 1));
    // max(0, …) guards the rounding of the largest norm itself.
    out[i * (d + 1) + d] = Math.sqrt(Math.max(0, max2 - norms2[i]));
  }
  return { vectors: out, maxNorm: Math.sqrt(max2) };
}

/** `[d]` query ↦ `[d+1]` with a trailing 0, written into `out` (reused across queries). */
export function augmentQuery(query: Float32Array, out: Float32Array): Float32Array {
  out.set(query);
  out[query.length] = 0;
  return out;
}
