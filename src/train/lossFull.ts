/**
 * The exact full-softmax cross-entropy over the whole catalogue: every real item competes with the
 * positive at every position, so there are no negatives to sample, no logQ correction and no
 * accidental hits to mask. It is the single largest published lift for SASRec on the S3-Rec data
 * sets (Klenitskiy & Vasilev 2023, "Turning Dross Into Gold Loss"; Petrov & Macdonald, gSASRec
 * 2023); `lossMode.ts` decides when it fits, the sampled softmax (`loss.ts`) is the fallback.
 *
 *     logits[r, j] = (u_r · v_{j+1}) / τ       over the N − 1 real items (id 0, padding, never competes)
 *     CE_r         = −logSoftmax(logits_r)[pos_r − 1],   loss = mean_r CE_r
 *
 * On wasm it runs as one fused op (engine/fullSoftmax.ts: three matmuls and one pass over the
 * logits). Elsewhere it is written with `logSoftmax` and a one-hot label rather than
 * `logSumExp − s⁺`: tfjs-core gives logSoftmax a closed-form gradient, while logSumExp
 * differentiates `max` through a broadcast Equal mask that is very slow on wasm.
 *
 * Glossary: R rows (real positions), N item vocabulary size (row 0 padding), d width.
 */
import * as tf from "@tensorflow/tfjs-core";
import { requireArg } from "../core/errors.ts";
import { assertLength, assertShape } from "../core/shapes.ts";
import { fusedSoftmaxCrossEntropy, hasFusedSoftmaxCrossEntropy } from "../engine/fullSoftmax.ts";
import { stopGradient } from "../model/layers.ts";
import { checkTemperature } from "./lossLogits.ts";

/** Arguments of the full-softmax loss. */
export interface FullSoftmaxArgs {
  /** [R, d] user (query) embeddings, one per real position. */
  u: tf.Tensor2D;
  /** [R] each row's positive item id, in 1..N−1. */
  positiveIds: Int32Array;
  /** [N, d] item-tower embeddings of every item, row 0 = padding (never a candidate). */
  itemEmbeddings: tf.Tensor2D;
  /** Temperature τ > 0: logits are scores / τ. 1 = none. */
  temperature: number;
  /**
   * False: no gradient reaches `itemEmbeddings` (a loss that trains the query side only). Cheaper
   * than a stopGradient on the input: the fused op then skips the [N, R]·[R, d] product. Default true.
   */
  itemGradient?: boolean;
}

/**
 * Per-row cross-entropy of the full softmax.
 *
 * @returns [R] CE_r ≥ 0
 */
export function fullSoftmaxRowLosses(args: FullSoftmaxArgs): tf.Tensor1D {
  const { u, positiveIds, temperature } = args;
  const itemGradient = args.itemGradient ?? true;
  const itemEmbeddings = args.itemEmbeddings;
  checkTemperature(temperature);
  assertShape(u.shape, ["R", "d"], "u");
  assertShape(itemEmbeddings.shape, ["N", u.shape[1]], "itemEmbeddings");
  assertLength(positiveIds, u.shape[0], "positiveIds");
  const R = u.shape[0];
  const N = itemEmbeddings.shape[0];
  requireArg(N >= 2, "itemEmbeddings", `expected at least one real item besides padding row 0, got N = ${N}`);
  for (let r = 0; r < R; r++) {
    const p = positiveIds[r];
    requireArg(
      Number.isInteger(p) && p >= 1 && p < N,
      "positiveIds",
      `row ${r} has positive ${p}; expected an item id in 1..${N - 1} (padding rows must be left out)`,
    );
  }
  if (hasFusedSoftmaxCrossEntropy()) {
    // Padding row 0 stays in the product (one column, cheaper than slicing V) and never competes.
    return tf.tidy(() => {
      const q = temperature === 1 ? u : (tf.div(u, temperature) as tf.Tensor2D);
      return fusedSoftmaxCrossEntropy(q, itemEmbeddings, positiveIds, 1, itemGradient);
    });
  }
  return compositeRowLosses(
    u,
    positiveIds,
    itemGradient ? itemEmbeddings : stopGradient(itemEmbeddings),
    temperature,
  );
}

/**
 * The same cross-entropy with tfjs ops (backends without the fused kernel, and the fused op's
 * reference in its tests); `positiveIds` [R] are validated item ids in 1..N−1.
 */
export function compositeRowLosses(
  u: tf.Tensor2D,
  positiveIds: Int32Array,
  itemEmbeddings: tf.Tensor2D,
  temperature: number,
): tf.Tensor1D {
  const [, d] = u.shape;
  const N = itemEmbeddings.shape[0];
  return tf.tidy(() => {
    const real = tf.slice(itemEmbeddings, [1, 0], [N - 1, d]);
    let logits = tf.matMul(u, real, false, true) as tf.Tensor2D; // [R, N − 1]
    if (temperature !== 1) logits = tf.div(logits, temperature);
    const labels = Int32Array.from(positiveIds, (p) => p - 1); // columns of the real items
    const target = tf.oneHot(tf.tensor1d(labels, "int32"), N - 1); // [R, N − 1], no gradient
    return tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits, 1), target), 1)) as tf.Tensor1D;
  });
}

/**
 * The full-softmax loss: the mean of `fullSoftmaxRowLosses` over the rows.
 *
 * @returns scalar loss (differentiable w.r.t. u and every item embedding)
 */
export function fullSoftmaxLoss(args: FullSoftmaxArgs): tf.Scalar {
  return tf.tidy(() => tf.mean(fullSoftmaxRowLosses(args)) as tf.Scalar);
}
