/**
 * Paired differences of a per-user metric between two rankings of the SAME users (two models, or
 * one model with and without context), with a normal-approximation 95% interval of the mean
 * difference: the users are the sample, so the interval is the one a reviewer's rerun on the same
 * split would reproduce, and pairing removes the between-user variance both models share.
 */
import { hitAt, ndcgAt } from "./metrics.ts";

/** A paired difference of a metric between two figures, over the same users. */
export interface PairedGain {
  /** Mean over users of (a − b). */
  mean: number;
  /** Normal-approximation 95% interval of the mean: mean ± 1.96 · sd / √n. */
  ci95: [number, number];
}

/** Per-user value of `hit@K` / `ndcg@K` at a 0-based rank. */
export function perUser(name: string, rank: number): number {
  const k = Number(name.slice(name.indexOf("@") + 1));
  return name.startsWith("hit@") ? hitAt(rank, k) : ndcgAt(rank, k);
}

/** Paired gain of metric `name` between rank arrays `a` and `b` (same users, same order). */
export function pairedGain(name: string, a: ArrayLike<number>, b: ArrayLike<number>): PairedGain {
  const n = a.length;
  let sum = 0;
  let sq = 0;
  for (let j = 0; j < n; j++) {
    const d = perUser(name, a[j]) - perUser(name, b[j]);
    sum += d;
    sq += d * d;
  }
  const mean = sum / n;
  // Sample variance of the differences (n − 1), 0 for a single user.
  const variance = n > 1 ? Math.max(0, (sq - n * mean * mean) / (n - 1)) : 0;
  const half = 1.96 * Math.sqrt(variance / n);
  return { mean, ci95: [mean - half, mean + half] };
}
