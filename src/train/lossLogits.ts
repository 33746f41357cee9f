/**
 * The steps that turn embeddings into the logits of the retrieval loss, in TFRS's order
 * (`tasks/retrieval.py`): scores → temperature → sampling correction → accidental-hit mask.
 * Each is a small pure function over tensors; `loss.ts` composes them.
 *
 * Glossary: B batch rows, M candidates, d width.
 */
import * as tf from "@tensorflow/tfjs-core";
import { requireArg } from "../core/errors.ts";
import { assertLength, assertShape } from "../core/shapes.ts";
import { type Candidates, EXPECTED_COUNT_MIN } from "./lossCandidates.ts";

/**
 * Logit given to masked columns. TFRS's choice (float32 min / 100): exp(x − max) underflows to
 * exactly 0, so a masked column gets probability 0 and gradient 0, yet adding it to any finite
 * logit stays finite (float32 min itself could overflow to −∞ and give NaN in 0·∞).
 */
export const MASKED_LOGIT = -3.4028234663852886e38 / 100;

/** Throws CTXREC_ERR_ARG unless the temperature is finite and > 0. */
export function checkTemperature(temperature: number): void {
  requireArg(
    Number.isFinite(temperature) && temperature > 0,
    "temperature",
    `expected a finite number > 0, got ${temperature}; use 1 for no temperature scaling`,
  );
}

/**
 * Scores of every row against every candidate, divided by the temperature:
 * logits[b, m] = (u_b · c_m) / τ.
 *
 * @param u [B, d] user (query) embeddings
 * @param c candidates with embeddings [M, d]
 * @param temperature τ > 0 (τ < 1 sharpens the softmax)
 * @returns [B, M]
 */
export function scores(u: tf.Tensor2D, c: Candidates, temperature: number): tf.Tensor2D {
  checkTemperature(temperature);
  assertShape(u.shape, ["B", "d"], "u");
  assertShape(c.embeddings.shape, [c.ids.length, u.shape[1]], "candidates.embeddings");
  return tf.tidy(() => {
    const s = tf.matMul(u, c.embeddings, false, true) as tf.Tensor2D;
    return temperature === 1 ? s : tf.div<tf.Tensor2D>(s, temperature);
  });
}

/**
 * log of each expected count, clamped at EXPECTED_COUNT_MIN (host-side; no tensor).
 *
 * @param expectedCount [M]
 * @returns [M] log(max(ε, expectedCount[m]))
 */
export function logExpectedCount(expectedCount: ArrayLike<number>): Float32Array {
  const out = new Float32Array(expectedCount.length);
  for (let m = 0; m < out.length; m++) {
    const q = expectedCount[m];
    requireArg(!Number.isNaN(q), "expectedCount", `value NaN at index ${m}; expected counts must be ≥ 0`);
    out[m] = Math.log(Math.max(EXPECTED_COUNT_MIN, q));
  }
  return out;
}

/**
 * Sampling-bias (logQ) correction, Yi et al. 2019 ("Sampling-Bias-Corrected Neural Modeling for
 * Large Corpus Item Recommendations") and TFRS's `SamplingProbablityCorrection`:
 *
 *     corrected[b, m] = logits[b, m] − log(expectedCount[m])
 *
 * The sign: a popular item is drawn as a negative far more often than its share of true
 * negatives, so without correction its logit is pushed down in almost every batch and the model
 * learns to under-rank it. SUBTRACTING log q LOWERS the logits of popular candidates (large q)
 * before the softmax, so they take a smaller share of the softmax mass and their embeddings get a
 * smaller push per occurrence; rare items (small q, negative log q) are raised. Adding log q
 * instead would double the popularity penalty (a test pins the sign).
 *
 * @param logits [B, M] (already divided by the temperature: the correction is not scaled by τ)
 * @param expectedCount [M] expected count of each column's item among the candidates
 * @returns [B, M]
 */
export function logQCorrect(logits: tf.Tensor2D, expectedCount: ArrayLike<number>): tf.Tensor2D {
  assertShape(logits.shape, ["B", expectedCount.length], "logits");
  return tf.tidy(() => tf.sub(logits, tf.tensor1d(logExpectedCount(expectedCount))));
}

/**
 * Additive mask of the columns that must not compete as negatives: a candidate whose item equals
 * the row's positive (an accidental hit: penalising it would push the positive away from itself),
 * and padding candidates (id 0). `labelColumn[b]`, when given, is the one column of row b that
 * holds the label itself and is never masked (the in-batch-diagonal layout).
 *
 * @param positiveIds [B]
 * @param candidateIds [M]
 * @param labelColumn [B] column of each row's label, or undefined when the label is not among the candidates
 * @returns the [B·M] row-major mask (0 or MASKED_LOGIT) and how many entries are masked
 */
export function accidentalHitMask(
  positiveIds: ArrayLike<number>,
  candidateIds: ArrayLike<number>,
  labelColumn?: ArrayLike<number>,
): { mask: Float32Array; masked: number } {
  const B = positiveIds.length;
  const M = candidateIds.length;
  if (labelColumn !== undefined) assertLength(labelColumn, B, "labelColumn");
  const mask = new Float32Array(B * M);
  let masked = 0;
  for (let b = 0; b < B; b++) {
    const pos = positiveIds[b];
    const keep = labelColumn === undefined ? -1 : labelColumn[b];
    const row = b * M;
    for (let m = 0; m < M; m++) {
      const id = candidateIds[m];
      if ((id === pos || id === 0) && m !== keep) {
        mask[row + m] = MASKED_LOGIT;
        masked++;
      }
    }
  }
  return { mask, masked };
}

/**
 * Accidental-hit (and padding-candidate) mask applied to logits: masked columns get MASKED_LOGIT
 * added, i.e. probability 0 after the softmax and no gradient. See `accidentalHitMask`.
 *
 * @param logits [B, M]
 * @param positiveIds [B] each row's positive item id
 * @param candidateIds [M] each column's item id
 * @param labelColumn [B] optional column of each row's own label (left unmasked)
 * @returns [B, M] (the input itself when nothing is masked)
 */
export function maskAccidentalHits(
  logits: tf.Tensor2D,
  positiveIds: ArrayLike<number>,
  candidateIds: ArrayLike<number>,
  labelColumn?: ArrayLike<number>,
): tf.Tensor2D {
  assertShape(logits.shape, [positiveIds.length, candidateIds.length], "logits");
  const { mask, masked } = accidentalHitMask(positiveIds, candidateIds, labelColumn);
  if (masked === 0) return logits;
  return tf.tidy(() => tf.add(logits, tf.tensor2d(mask, logits.shape)));
}
