/**
 * A plain-TypeScript reference of the sampled softmax loss (no tensors), written straight from the
 * definition in loss.ts, for tests to compare against. Not exported from the package: slow on purpose.
 *
 * Glossary: B batch rows, M candidates, d width; arrays are row-major.
 */
import { EXPECTED_COUNT_MIN } from "./lossCandidates.ts";

export interface ReferenceLossArgs {
  /** [B·d] */
  u: ArrayLike<number>;
  /** [B] */
  positiveIds: ArrayLike<number>;
  /** [B·d] */
  positiveEmbeddings: ArrayLike<number>;
  /** [M] */
  candidateIds: ArrayLike<number>;
  /** [M·d] */
  candidateEmbeddings: ArrayLike<number>;
  /** Expected count of an item id among the candidates (unclamped). */
  expectedCount: (id: number) => number;
  d: number;
  temperature: number;
  /** [B], default 1 for real rows, 0 for padding rows (id 0). */
  weights?: ArrayLike<number>;
}

function dot(a: ArrayLike<number>, ia: number, b: ArrayLike<number>, ib: number, d: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) s += a[ia + k] * b[ib + k];
  return s;
}

/** Σ_b w_b · CE_b / Σ_b w_b in float64, candidates equal to the positive or 0 left out of the softmax. */
export function referenceSampledSoftmaxLoss(a: ReferenceLossArgs): number {
  const B = a.positiveIds.length;
  const M = a.candidateIds.length;
  const logq = (id: number) => Math.log(Math.max(EXPECTED_COUNT_MIN, a.expectedCount(id)));
  let num = 0;
  let den = 0;
  for (let b = 0; b < B; b++) {
    const w = a.weights === undefined ? (a.positiveIds[b] === 0 ? 0 : 1) : a.weights[b];
    const label =
      dot(a.u, b * a.d, a.positiveEmbeddings, b * a.d, a.d) / a.temperature - logq(a.positiveIds[b]);
    const logits = [label];
    for (let m = 0; m < M; m++) {
      const id = a.candidateIds[m];
      if (id === 0 || id === a.positiveIds[b]) continue;
      logits.push(dot(a.u, b * a.d, a.candidateEmbeddings, m * a.d, a.d) / a.temperature - logq(id));
    }
    const mx = Math.max(...logits);
    const lse = mx + Math.log(logits.reduce((s, x) => s + Math.exp(x - mx), 0));
    num += w * (lse - label);
    den += w;
  }
  return den > 0 ? num / den : 0;
}
