/**
 * Mean and 95% confidence interval of a small sample (one value per seed): Student's t interval
 * mean ± t(0.975, n − 1) · s / √n, s the sample standard deviation. With 3 seeds t = 4.303, so
 * intervals are wide on purpose: they say how much the seeds disagree.
 */

/** t(0.975, df) for df = 1..30 (standard tables); beyond 30 the normal 1.960 is within 2%. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** The two-sided 95% Student t quantile for `df` ≥ 1 degrees of freedom. */
export function tQuantile975(df: number): number {
  return df <= T975.length ? T975[df - 1] : 1.96;
}

/** A sample summary: `low`/`high` are null with fewer than 2 values (no spread to measure). */
export interface Interval {
  mean: number | null;
  low: number | null;
  high: number | null;
  /** Values that entered (finite ones). */
  n: number;
  /** The per-seed values, in seed order (null where a run had no value). */
  values: (number | null)[];
}

/**
 * Mean and 95% t interval of the finite entries of `values` (non-finite ones and nulls are kept in
 * `values` as null and left out of the summary).
 * Example: [0.2, 0.4, 0.6] → mean 0.4, s = 0.2, half-width 4.303 · 0.2 / √3 = 0.4969.
 */
export function meanInterval(values: readonly (number | null)[]): Interval {
  const kept = values.map((v) => (v !== null && Number.isFinite(v) ? v : null));
  const xs = kept.filter((v): v is number => v !== null);
  const n = xs.length;
  if (n === 0) return { mean: null, low: null, high: null, n, values: kept };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, low: null, high: null, n, values: kept };
  const s = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const half = (tQuantile975(n - 1) * s) / Math.sqrt(n);
  return { mean, low: mean - half, high: mean + half, n, values: kept };
}

/** a / b, or null when b is 0 or either is missing (a ratio without a base is no figure). */
export function ratio(a: number | null, b: number | null): number | null {
  if (a === null || b === null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return a / b;
}
