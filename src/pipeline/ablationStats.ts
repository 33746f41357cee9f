/**
 * Intervals of the ablation rows: a percentile bootstrap over users, stratified by seed. A
 * "column" is one metric of one configuration: per seed, one value per user. Columns scored on the
 * same users (a "user set": the loo users, or the stale-context users of one cut-off) are
 * resampled with the SAME draws, so the difference of two such columns gets a paired interval;
 * columns of different user sets are resampled independently (an unpaired interval).
 *
 * Statistic: mean over seeds of the mean over users. Shapes: S seeds, U_s users of seed s, R resamples.
 */
import { requireArg } from "../core/errors.ts";
import type { Rng } from "../core/rng.ts";

/** One metric of one configuration. */
export interface Column {
  /** Name of the user set the values are over (columns with the same set are paired). */
  set: string;
  /** [S][U_s] per-user values; every column of a set has the same lengths. */
  perSeed: Float64Array[];
}

/** Mean over seeds of the per-seed means. */
export function pointEstimate(c: Column): number {
  let sum = 0;
  for (const v of c.perSeed) {
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i];
    sum += v.length > 0 ? s / v.length : 0;
  }
  return sum / Math.max(1, c.perSeed.length);
}

/**
 * `[R]` bootstrap replicates of every column's point estimate. Per set, per resample and seed,
 * U_s user indices are drawn with replacement from `rng`, and every column of the set is averaged
 * over the same indices.
 */
export function bootstrapColumns(
  columns: ReadonlyMap<string, Column>,
  resamples: number,
  rng: Rng,
): Map<string, Float64Array> {
  requireArg(
    Number.isInteger(resamples) && resamples >= 1,
    "resamples",
    `expected an integer ≥ 1, got ${resamples}`,
  );
  const bySet = new Map<string, string[]>();
  for (const [name, c] of columns) bySet.set(c.set, [...(bySet.get(c.set) ?? []), name]);
  const out = new Map<string, Float64Array>();
  // Sets in sorted order: the draws of a set do not depend on the Map's insertion order.
  for (const set of [...bySet.keys()].sort()) {
    const names = bySet.get(set) ?? [];
    const cols = names.map((n) => columns.get(n) as Column);
    const S = cols[0].perSeed.length;
    for (const c of cols) {
      requireArg(
        c.perSeed.length === S && c.perSeed.every((v, s) => v.length === cols[0].perSeed[s].length),
        `columns of set ${set}`,
        "every column of a user set needs the same seeds and users",
      );
    }
    const reps = cols.map(() => new Float64Array(resamples));
    const acc = new Float64Array(cols.length);
    for (let r = 0; r < resamples; r++) {
      for (let s = 0; s < S; s++) {
        const n = cols[0].perSeed[s].length;
        acc.fill(0);
        for (let i = 0; i < n; i++) {
          const j = rng.int(n);
          for (let c = 0; c < cols.length; c++) acc[c] += cols[c].perSeed[s][j];
        }
        for (let c = 0; c < cols.length; c++) reps[c][r] += n > 0 ? acc[c] / n / S : 0;
      }
    }
    for (let c = 0; c < names.length; c++) out.set(names[c], reps[c]);
  }
  return out;
}

/** The q-quantile (0 ≤ q ≤ 1) of `x` by linear interpolation between order statistics. */
export function quantile(x: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(x).sort();
  if (sorted.length === 0) return Number.NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

/** 95% percentile interval of replicates. */
export function interval95(reps: ArrayLike<number>): [number, number] {
  return [quantile(reps, 0.025), quantile(reps, 0.975)];
}

/** Replicate-wise differences a − b (paired when a and b share their user set's draws). */
export function differences(a: Float64Array, b: Float64Array): Float64Array {
  return Float64Array.from(a, (v, i) => v - b[i]);
}
