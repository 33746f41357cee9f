/**
 * Gradient of `BatchMatMul` that supports a broadcast operand.
 *
 * Why: tfjs-core 4.22.0's gradient returns, for `a [B,L,D] × b [D,F]`, a gradient of b shaped
 * `[B,D,F]` and the tape then fails ("The gradient of input 'b' has shape '4,8,3', which does not
 * match the shape of the input '8,3'") — so a dense layer applied to a sequence cannot be trained.
 * Here the common case folds the batch into rows, `db = a₂ᵀ·dy₂` with a₂ `[B·L,D]`, dy₂
 * `[B·L,F]`: one `[D,B·L]×[B·L,F]` matmul on the fast path instead of B small ones and a sum.
 * Other broadcasts use the upstream formulas followed by a sum over the broadcast axes.
 */
import * as tf from "@tensorflow/tfjs-core";

/** Sums `g` over the leading and size-1 broadcast axes so that it has `shape` (the input's). */
export function sumToShape(g: tf.Tensor, shape: number[]): tf.Tensor {
  if (tf.util.arraysEqual(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  return tf.reshape(tf.sum(g, axes), shape);
}

const batchOf = (t: tf.Tensor) => tf.util.sizeFromShape(t.shape.slice(0, -2));
/** `[..., r, c]` → `[(...)·r, c]`. */
const rows2d = (t: tf.Tensor) => tf.reshape(t, [-1, t.shape[t.rank - 1]]);

export const batchMatMulGradConfig: tf.GradConfig = {
  kernelName: tf.BatchMatMul,
  inputsToSave: ["a", "b"],
  gradFunc: (dy, saved, attrs) => {
    const [a, b] = saved;
    const tA = Boolean(attrs.transposeA);
    const tB = Boolean(attrs.transposeB);
    const g = Array.isArray(dy) ? dy[0] : dy;
    // Upstream formulas (tfjs-core BatchMatMul_grad), per transpose combination.
    const upstreamA = () =>
      !tA && !tB
        ? tf.matMul(g, b, false, true)
        : !tA && tB
          ? tf.matMul(g, b, false, false)
          : tA && !tB
            ? tf.matMul(b, g, false, true)
            : tf.matMul(b, g, true, true);
    const upstreamB = () =>
      !tA && !tB
        ? tf.matMul(a, g, true, false)
        : !tA && tB
          ? tf.matMul(g, a, true, false)
          : tA && !tB
            ? tf.matMul(a, g, false, false)
            : tf.matMul(g, a, true, true);
    const foldB = batchOf(b) === 1 && batchOf(a) > 1 && !tA;
    return {
      a: () => sumToShape(upstreamA(), a.shape),
      b: () => {
        if (foldB) {
          // !tB: db = a₂ᵀ·dy₂ [K,N];  tB: db = dy₂ᵀ·a₂ [N,K].
          const db = tB
            ? tf.matMul(rows2d(g), rows2d(a), true, false)
            : tf.matMul(rows2d(a), rows2d(g), true, false);
          return tf.reshape(db, b.shape);
        }
        return sumToShape(upstreamB(), b.shape);
      },
    };
  },
};
