/**
 * `CtxrecSoftmaxCrossEntropy` (wasm): the row-wise softmax cross-entropy of a logits matrix and its
 * gradient in one pass over the heap, for the full-softmax loss (src/engine/fullSoftmax.ts).
 *
 *   logits [R, N] f32, labels [R] i32, attr firstCandidate c  →  losses [R], grad [R, N]
 *   losses[r]  = log Σ_{j ≥ c} exp(logits[r, j]) − logits[r, labels[r]]
 *   grad[r, j] = softmax_j(logits[r, c..]) − [j = labels[r]]   (0 for j < c)
 *
 * Why a kernel: written with tfjs ops (logSoftmax · oneHot, summed) one step over Beauty's
 * [1000, 12101] logits ran Max, Sub, Exp, Log, Cast, OneHot, Multiply and Sum forward and as many
 * passes backward: 1,062 ms with its 3 matmuls against 332 ms for the matmuls alone (2-core Xeon
 * shared with two training runs; bench/results/kernels.md has the clean figure). This kernel
 * makes one max pass, one exp pass and one scaling pass, and keeps one [R, N] tensor alive for
 * the backward pass instead of about five: the same step measured 480–570 ms. Math.exp is most of
 * the kernel's ≈200 ms; a table-and-polynomial exp measured slower inside this loop (≈320 ms).
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { Info, Wasm } from "./wasmHeap.ts";

/** The kernel's registered name (not a tfjs kernel: only ctxrec calls it, through fullSoftmax.ts). */
export const SOFTMAX_CROSS_ENTROPY = "CtxrecSoftmaxCrossEntropy";

/**
 * Fills `losses` [R] and `grad` [R, N] (row-major, flat) from `logits` [R, N] and `labels` [R];
 * columns below `firstCandidate` never compete (padding) and get a zero gradient. `grad` may not
 * alias `logits`. Labels must lie in firstCandidate..N−1 (the caller validates them).
 */
export function softmaxCrossEntropyRows(
  logits: Float32Array,
  labels: Int32Array,
  N: number,
  firstCandidate: number,
  losses: Float32Array,
  grad: Float32Array,
): void {
  const R = labels.length;
  for (let r = 0; r < R; r++) {
    const o = r * N;
    let max = Number.NEGATIVE_INFINITY;
    for (let j = o + firstCandidate; j < o + N; j++) if (logits[j] > max) max = logits[j];
    let sum = 0;
    for (let j = o + firstCandidate; j < o + N; j++) {
      const e = Math.exp(logits[j] - max);
      grad[j] = e;
      sum += e;
    }
    const label = o + labels[r];
    losses[r] = Math.log(sum) + max - logits[label];
    const inv = 1 / sum;
    for (let j = o; j < o + firstCandidate; j++) grad[j] = 0;
    for (let j = o + firstCandidate; j < o + N; j++) grad[j] *= inv;
    grad[label] -= 1;
  }
}

export function softmaxCrossEntropyConfig(backendName: string): tf.KernelConfig {
  return {
    kernelName: SOFTMAX_CROSS_ENTROPY,
    backendName,
    kernelFunc: (args) => {
      const backend = args.backend as Wasm;
      const logits = args.inputs.logits as Info;
      const labels = args.inputs.labels as Info;
      const firstCandidate = Number(args.attrs?.firstCandidate ?? 0);
      const [R, N] = logits.shape;
      if (logits.dtype !== "float32" || labels.dtype !== "int32" || labels.shape[0] !== R) {
        throw new Error(
          `${SOFTMAX_CROSS_ENTROPY}: expected float32 logits [R, N] and int32 labels [R], got ${logits.dtype} [${logits.shape}] and ${labels.dtype} [${labels.shape}]`,
        );
      }
      const losses = backend.makeOutput([R], "float32");
      const grad = backend.makeOutput([R, N], "float32");
      softmaxCrossEntropyRows(
        backend.typedArrayFromHeap(logits) as Float32Array,
        backend.typedArrayFromHeap(labels) as Int32Array,
        N,
        firstCandidate,
        backend.typedArrayFromHeap(losses) as Float32Array,
        backend.typedArrayFromHeap(grad) as Float32Array,
      );
      return [losses, grad];
    },
  };
}
