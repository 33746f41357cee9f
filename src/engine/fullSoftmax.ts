/**
 * The fused full-softmax cross-entropy: one op with its own gradient (tf.customGrad) around the
 * `CtxrecSoftmaxCrossEntropy` kernel (kernels/softmaxCrossEntropy.ts), so a step over the whole
 * catalogue costs three matmuls and three passes over the [R, N] logits, and only the gradient
 * of the logits stays alive between the forward and the backward pass.
 *
 *   logits = u·Vᵀ [R, N],  CE_r = logsumexp_{j ≥ c}(logits_r) − logits_r[label_r]
 *   G = softmax − onehot (columns < c zero),  dU = (dy ⊙ G)·V = dy ⊙ (G·V),  dV = Gᵀ·(dy ⊙ u)
 *
 * The upstream weights dy [R] scale the [R, d] operands rather than G, so the backward pass never
 * makes another [R, N] tensor.
 */
import * as tf from "@tensorflow/tfjs-core";
import { SOFTMAX_CROSS_ENTROPY } from "./kernels/softmaxCrossEntropy.ts";

/** True when the current backend has the fused kernel (wasm after initEngine). */
export function hasFusedSoftmaxCrossEntropy(): boolean {
  return tf.getKernel(SOFTMAX_CROSS_ENTROPY, tf.getBackend()) !== undefined;
}

/**
 * Per-row cross-entropy of u [R, d] against every row of `items` [N, d] as a class; rows below
 * `firstCandidate` (padding) never compete. `labels` [R] are row indices of `items`, each in
 * firstCandidate..N−1 (not checked here: the caller validates them). With `itemGradient` false
 * `items` is a constant of the op (no gradient, one matmul less in the backward pass).
 *
 * @returns [R] CE_r, differentiable w.r.t. u (and items unless itemGradient is false)
 */
export function fusedSoftmaxCrossEntropy(
  u: tf.Tensor2D,
  items: tf.Tensor2D,
  labels: Int32Array,
  firstCandidate: number,
  itemGradient = true,
): tf.Tensor1D {
  const R = u.shape[0];
  const forward = (ui: tf.Tensor2D, vi: tf.Tensor2D): [tf.Tensor1D, tf.Tensor2D] =>
    tf.tidy(() => {
      const logits = tf.matMul(ui, vi, false, true);
      const labelTensor = tf.tensor1d(labels, "int32");
      return tf
        .engine()
        .runKernel(SOFTMAX_CROSS_ENTROPY, { logits, labels: labelTensor }, { firstCandidate }) as [
        tf.Tensor1D,
        tf.Tensor2D,
      ];
    });
  if (!itemGradient) {
    const ce = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const ui = args[0] as tf.Tensor2D;
      const save = args[1] as tf.GradSaveFunc;
      const [losses, grad] = forward(ui, items);
      save([grad]);
      return {
        value: losses,
        gradFunc: (dy: tf.Tensor1D, saved: tf.Tensor[]) =>
          tf.tidy(() => tf.mul(tf.matMul(saved[0] as tf.Tensor2D, items), tf.reshape(dy, [R, 1]))),
      };
    });
    return ce(u) as tf.Tensor1D;
  }
  const ce = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [ui, vi] = args as tf.Tensor2D[];
    const save = args[2] as tf.GradSaveFunc;
    const [losses, grad] = forward(ui, vi);
    save([ui, vi, grad]);
    return {
      value: losses,
      gradFunc: (dy: tf.Tensor1D, saved: tf.Tensor[]) => {
        const [su, sv, g] = saved as tf.Tensor2D[];
        return tf.tidy(() => {
          const w = tf.reshape(dy, [R, 1]);
          return [tf.mul(tf.matMul(g, sv), w), tf.matMul(g, tf.mul(su, w), true, false)];
        });
      },
    };
  });
  return ce(u, items) as tf.Tensor1D;
}
