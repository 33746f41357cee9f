/** Dense layer on folded rows, so every matmul (and its gradient) is one 2-D product. */
import * as tf from "@tensorflow/tfjs-core";

/**
 * x [..., in] · w [in, out] + b [out] → [..., out]. The leading axes are folded into rows so the
 * matmul is one `[rows, in]×[in, out]` (and its gradients fold the same way).
 */
export function linear(x: tf.Tensor, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor {
  const inner = x.shape[x.rank - 1];
  const x2 = x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [-1, inner]);
  let y: tf.Tensor = tf.matMul(x2, w);
  if (b !== undefined) y = tf.add(y, b);
  return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), w.shape[1]]);
}
