/**
 * The retrieval loss: a sampled softmax over negative candidates with the logQ correction, the
 * accidental-hit mask and a temperature, composed in TFRS's order from the pure steps of
 * `lossLogits.ts`:
 *
 *   1. scores        s[b, m] = u_b · c_m            and the label s⁺[b] = u_b · p_b
 *   2. temperature   / τ
 *   3. correction    − log E[count] (each negative column with its own item's expected count, and
 *                    the label with the expected count of the positive's item under the SAME
 *                    sampler(s), as TensorFlow's sampled_softmax_loss subtracts log Q from the true
 *                    logits too; otherwise the label column would be systematically favoured over
 *                    its own copy among the negatives)
 *   4. mask          negatives equal to the row's positive (accidental hits) and padding candidates
 *   5. loss          CE_b = logsumexp([s⁺_b, s_b,·]) − s⁺_b, weighted mean over rows
 *
 * Layout: the label is PREPENDED as column 0 instead of read off an in-batch diagonal. It works the
 * same whether the candidates are in-batch, uniform or mixed; with in-batch candidates the
 * positive's own copy among the negatives is an accidental hit and is masked, which makes it
 * equal to TFRS's diagonal layout with `remove_accidental_hits`.
 *
 * Glossary: B batch rows, M candidates, d width.
 */
import * as tf from "@tensorflow/tfjs-core";
import { requireArg, requireFinite } from "../core/errors.ts";
import { assertLength, assertShape } from "../core/shapes.ts";
import type { Candidates } from "./lossCandidates.ts";
import { checkTemperature, logExpectedCount, logQCorrect, maskAccidentalHits, scores } from "./lossLogits.ts";

/** Arguments of the sampled softmax loss. */
export interface SampledSoftmaxArgs {
  /** [B, d] user (query) embeddings. */
  u: tf.Tensor2D;
  /** [B] each row's positive item id (0 = padding row; give it weight 0). */
  positiveIds: Int32Array;
  /** [B, d] item-tower embeddings of the positives. */
  positiveEmbeddings: tf.Tensor2D;
  /** The negatives with their expected counts (see lossCandidates.ts). */
  candidates: Candidates;
  /** Temperature τ > 0: logits are scores / τ. 1 = none. */
  temperature: number;
  /**
   * [B] row weights ≥ 0; 0 for padding rows, which then contribute nothing (and no gradient).
   * Default: every row with a non-zero positive id has weight 1, padding rows (id 0) weight 0.
   */
  weights?: Float32Array;
  /** Apply the logQ correction (default true; false only for ablations). */
  logQ?: boolean;
  /** Mask accidental hits (default true; padding candidates are masked either way). */
  removeAccidentalHits?: boolean;
}

/** Row weights: the given ones (validated) or 1 for real rows and 0 for padding rows. */
function rowWeights(positiveIds: Int32Array, weights: Float32Array | undefined): Float32Array {
  if (weights === undefined) {
    const w = new Float32Array(positiveIds.length);
    for (let b = 0; b < w.length; b++) w[b] = positiveIds[b] === 0 ? 0 : 1;
    return w;
  }
  assertLength(weights, positiveIds.length, "weights");
  requireFinite(weights, "weights");
  return weights;
}

/**
 * Per-row cross-entropy of the sampled softmax, −log softmax(logits_b)[label], with the label
 * prepended as column 0 (see the module comment for the order of the steps).
 *
 * @returns [B] CE_b ≥ 0 (0 when every negative of the row is masked)
 */
export function sampledSoftmaxRowLosses(args: SampledSoftmaxArgs): tf.Tensor1D {
  const { u, positiveIds, positiveEmbeddings, candidates: c, temperature } = args;
  checkTemperature(temperature);
  assertShape(u.shape, ["B", "d"], "u");
  assertShape(positiveEmbeddings.shape, u.shape, "positiveEmbeddings");
  assertLength(positiveIds, u.shape[0], "positiveIds");
  assertLength(c.expectedCount, c.ids.length, "candidates.expectedCount");
  const logQ = args.logQ ?? true;
  const B = u.shape[0];

  // The label's correction uses its item's expected count under the candidates' own sampler(s).
  const posCount = new Float32Array(B);
  for (let b = 0; b < B; b++) posCount[b] = c.sampler.expectedCount(positiveIds[b]);

  return tf.tidy(() => {
    // 1–2. [B] label logits s⁺/τ and [B, M] negative logits s/τ.
    let pos = tf.sum(tf.mul(u, positiveEmbeddings), 1) as tf.Tensor1D;
    if (temperature !== 1) pos = tf.div(pos, temperature);
    let neg = scores(u, c, temperature);
    // 3. logQ correction, the same rule for the label and the negatives.
    if (logQ) {
      pos = tf.sub(pos, tf.tensor1d(logExpectedCount(posCount)));
      neg = logQCorrect(neg, c.expectedCount);
    }
    // 4. Accidental hits (and padding candidates); with removeAccidentalHits off only padding.
    const maskIds = args.removeAccidentalHits === false ? new Int32Array(B).fill(-1) : positiveIds;
    neg = maskAccidentalHits(neg, maskIds, c.ids);
    // 5. CE_b = logsumexp over [label, negatives] − label = −logSoftmax(all)[b, 0]. Written with
    // logSoftmax because its gradient is closed-form, while logSumExp differentiates through `max`
    // via an Equal mask that is very slow on wasm (3.3 s of 6.9 s kernel time in a profiled Beauty step).
    const all = tf.concat2d([tf.reshape(pos, [B, 1]) as tf.Tensor2D, neg], 1);
    return tf.neg(tf.reshape(tf.slice(tf.logSoftmax(all, 1), [0, 0], [B, 1]), [B])) as tf.Tensor1D;
  });
}

/**
 * The sampled softmax loss: Σ_b w_b · CE_b / Σ_b w_b (0 when every weight is 0).
 *
 * @returns scalar loss (differentiable w.r.t. u, the positive and the candidate embeddings)
 */
export function sampledSoftmaxLoss(args: SampledSoftmaxArgs): tf.Scalar {
  const w = rowWeights(args.positiveIds, args.weights);
  let total = 0;
  for (let b = 0; b < w.length; b++) {
    requireArg(w[b] >= 0, "weights", `weight ${w[b]} at row ${b} is negative; use 0 for padding rows`);
    total += w[b];
  }
  return tf.tidy(() => {
    const rows = sampledSoftmaxRowLosses(args);
    // Dividing by a host constant keeps padding rows out of both the sum and the normaliser.
    return tf.div(tf.sum(tf.mul(rows, tf.tensor1d(w))), total > 0 ? total : 1) as tf.Scalar;
  });
}
