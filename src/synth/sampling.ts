/**
 * Sampling building blocks for the synthetic world: independent child generators, Walker/Vose
 * alias tables (O(1) weighted draws, needed for 20M events over 500k items), and the Gamma,
 * Poisson and Zipf pieces of the generative story. All draws go through `Rng`.
 */
import { deriveSeed, Rng } from "../core/rng.ts";

/**
 * An independent generator for one labelled stream (e.g. one user's request). `Rng` mixes its seed,
 * so labels that differ only in their last characters (`user:1`, `user:2`) give uncorrelated draws.
 */
export function childRng(seed: number, label: string): Rng {
  return new Rng(deriveSeed(seed, label));
}

/**
 * Many alias tables in one CSR layout: table t covers slots `offsets[t] .. offsets[t+1]`, each slot
 * holding a value (e.g. an item index), its keep probability and its alias slot.
 * Shapes: offsets [T+1], values/prob/alias [total slots].
 */
export interface AliasTables {
  offsets: Int32Array;
  values: Int32Array;
  prob: Float64Array;
  alias: Int32Array;
}

/**
 * Builds alias tables from CSR rows of (value, weight). Rows with zero total weight fall back to
 * uniform over their values. Vose's method, so construction is O(total).
 */
export function buildAliasTables(
  offsets: Int32Array,
  values: Int32Array,
  weights: Float64Array,
): AliasTables {
  const n = values.length;
  const prob = new Float64Array(n);
  const alias = new Int32Array(n);
  const small = new Int32Array(n);
  const large = new Int32Array(n);
  for (let t = 0; t + 1 < offsets.length; t++) {
    const lo = offsets[t];
    const hi = offsets[t + 1];
    const k = hi - lo;
    if (k === 0) continue;
    let total = 0;
    for (let i = lo; i < hi; i++) total += weights[i];
    let ns = 0;
    let nl = 0;
    for (let i = lo; i < hi; i++) {
      prob[i] = total > 0 ? (weights[i] * k) / total : 1;
      alias[i] = i;
      if (prob[i] < 1) small[ns++] = i;
      else large[nl++] = i;
    }
    while (ns > 0 && nl > 0) {
      const s = small[--ns];
      const l = large[--nl];
      alias[s] = l;
      prob[l] = prob[l] + prob[s] - 1;
      if (prob[l] < 1) small[ns++] = l;
      else large[nl++] = l;
    }
    // Leftovers are 1 up to rounding error.
    while (nl > 0) prob[large[--nl]] = 1;
    while (ns > 0) prob[small[--ns]] = 1;
  }
  return { offsets, values, prob, alias };
}

/** Number of slots in table `t`. */
export function aliasSize(tables: AliasTables, t: number): number {
  return tables.offsets[t + 1] - tables.offsets[t];
}

/** One weighted draw from table `t` (must be non-empty); returns the slot's value. */
export function aliasDraw(tables: AliasTables, t: number, rng: Rng): number {
  const lo = tables.offsets[t];
  const slot = lo + rng.int(tables.offsets[t + 1] - lo);
  return tables.values[rng.float() < tables.prob[slot] ? slot : tables.alias[slot]];
}

/** Gamma(shape, 1) by Marsaglia–Tsang (boosted for shape < 1). */
export function gamma(rng: Rng, shape: number): number {
  if (shape < 1) {
    let u = 0;
    while (u === 0) u = rng.float();
    return gamma(rng, shape + 1) * u ** (1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x = 0;
    let v = 0;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.float();
    if (u < 1 - 0.0331 * x ** 4) return d * v;
    if (u > 0 && Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Poisson(mean) by Knuth's product method (means here are small, ≤ 20). */
export function poisson(rng: Rng, mean: number): number {
  if (mean <= 0) return 0;
  const limit = Math.exp(-mean);
  let k = 0;
  let p = rng.float();
  while (p > limit) {
    k++;
    p *= rng.float();
  }
  return k;
}

/** Exponential with the given mean. */
export function exponential(rng: Rng, mean: number): number {
  let u = 0;
  while (u === 0) u = rng.float();
  return -Math.log(u) * mean;
}

/**
 * Zipf weights over n things with shuffled ranks: weight[i] = 1 / rank(i)^s, so weight is not
 * tied to the index (and thus to the id). Shape [n].
 */
export function shuffledZipf(n: number, s: number, rng: Rng): Float64Array {
  const ranks = new Int32Array(n);
  for (let i = 0; i < n; i++) ranks[i] = i + 1;
  rng.shuffle(ranks);
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 1 / ranks[i] ** s;
  return w;
}

/** Draws up to `k` distinct indices by weight (weights ≥ 0), without replacement. Mutates nothing. */
export function drawDistinct(weights: ArrayLike<number>, k: number, rng: Rng): number[] {
  const w = Float64Array.from(weights);
  const out: number[] = [];
  for (let j = 0; j < k; j++) {
    let total = 0;
    for (let i = 0; i < w.length; i++) total += w[i];
    if (total <= 0) break;
    const i = rng.weighted(w);
    out.push(i);
    w[i] = 0;
  }
  return out;
}
