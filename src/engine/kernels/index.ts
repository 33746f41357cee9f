/**
 * The one place where ctxrec patches TensorFlow.js kernels. Every patch says what it fixes and
 * the effect measured on this machine (2-core Xeon, Node 20, tfjs 4.22.0, B=256 L=50 d=64 shapes;
 * `npx tsx bench/kernels.ts` → bench/results/kernels.md; the machine was shared with other jobs,
 * so figures vary by ±50% between runs).
 *
 * 1. `UnsortedSegmentSum` (wasm): missing upstream; it is the gradient of `gather`, so training
 *    any embedding failed with "Kernel 'UnsortedSegmentSum' not registered". Now a heap loop.
 * 2. `BatchMatMul` (wasm): upstream runs anything but untransposed batch-1 products on a scalar
 *    loop. The replacement (batchMatMul.ts) folds broadcast batches, transposes explicitly and
 *    dispatches true batched products per batch on zero-copy views. GFLOP/s upstream → patched:
 *    [B,L,d]×[d,3d] 0.8–0.9 → 6.5–10.4; dX (transposed b) 0.5–1.2 → 7.5–15; dW (transposed a)
 *    0.5–1.2 → 6.6–11; attention QKᵀ 0.5–1.1 → 1.7–3.1, PV 1.0–1.1 → 4.8–6.0; [B,d]×[B,d]ᵀ
 *    scores 1.1 → 8.7–10.8.
 * 3. `BatchMatMul` gradient (all backends): upstream cannot train `[B,L,D]×[D,F]` (wrong gradient
 *    shape for the broadcast operand); the replacement folds the batch into rows.
 * 4. `GatherV2` (wasm): upstream copies element by element: 222 ms to gather 12,800 rows × 192;
 *    row copies: 4 ms.
 * 5. `Transpose` (wasm): upstream rank-5 [256,50,3,2,32] permutation 662 ms; merged-axes JS loop
 *    6–22 ms. Ranks 3 (other than batched 2-D) and 4 stay upstream (1.2–2.8 ms, not slower).
 * 6. `Identity` (wasm): upstream copies the input; now a shared reference (refcount), as on cpu.
 *    Profile of one reference step (B=256 L=50, shared machine at load 3–4): 181 calls 132 ms →
 *    171 calls 4 ms.
 * 7. `Slice` / `SplitV` (wasm): upstream reads the WHOLE input out of the heap (`readSync`, a JS
 *    copy) on every call, then copies the slice. Now only the selected runs are copied from a
 *    heap view. Profiled step: SplitV 3 calls on [3, 819200] 71 ms → 4 ms.
 * 8. `Sum` over leading axes (wasm): upstream transposes the whole input first (bias and
 *    layer-norm gradients `[B·L,F] → [F]`); now one pass of row additions, four rows at a time.
 *    Profiled step: Sum, 34 calls, 261 ms → 85–104 ms ([12800,256] → [256] alone 18–40 → 5–7 ms).
 * 9. `BatchMatMul` arrangement (batchMatMul.ts `swapIsCheaper`): XNNPACK repacks its right operand
 *    on every call with a cache-unfriendly transposing read; weight gradients xᵀ·dy are computed
 *    as (dyᵀ·x)ᵀ when that packs fewer elements. Best of 8, [12800,64]ᵀ×[12800,256]: 71–120 ms →
 *    33 ms; [12800,64]ᵀ×[12800,192]: 58–92 → 27 ms. (Chunking the reduction axis so the packed
 *    block stays in cache was tried and measured no better: packing cost is per element.)
 * 10. Heap guard (heapGuard.ts, installed by backend.ts): a failed malloc used to return NULL and
 *    corrupt memory ("memory access out of bounds" at L=200); now it throws CTXREC_ERR_ENGINE.
 * 12. `CtxrecSoftmaxCrossEntropy` (softmaxCrossEntropy.ts, ctxrec's own kernel, behind
 *    engine/fullSoftmax.ts): the full-softmax loss's logSoftmax · oneHot chain in one heap pass.
 * 11. Attention (attention.ts, not a kernel): one fused op with its own gradient keeps only the
 *    probabilities between passes and frees every other [B·H, L, L] temporary at once; L=200
 *    (B=256) went from a crash to 10.3 s/step with a 2.8 GB heap.
 *
 * Checked and left alone (registered on wasm): Softmax, Mean/Max, Rsqrt, Sub/Mul/Add/RealDiv,
 * Exp/Log, Relu/Step, Erf, Select, Tile, Concat.
 */
import * as tf from "@tensorflow/tfjs-core";
import { CtxrecError } from "../../core/errors.ts";
import { fastBatchMatMulConfig } from "./batchMatMul.ts";
import { batchMatMulGradConfig } from "./batchMatMulGrad.ts";
import { identityConfig, sliceConfig, splitVConfig } from "./copies.ts";
import { gatherConfig } from "./gather.ts";
import { SOFTMAX_CROSS_ENTROPY, softmaxCrossEntropyConfig } from "./softmaxCrossEntropy.ts";
import { sumConfig } from "./sum.ts";
import { transposeConfig } from "./transpose.ts";
import { unsortedSegmentSumConfig } from "./unsortedSegmentSum.ts";

/**
 * Registers ctxrec's gradient overrides (they apply on every backend). Call it after tfjs-core's
 * own gradients are loaded, which would otherwise replace them.
 */
export function registerEngineGradients(): void {
  tf.registerGradient(batchMatMulGradConfig);
}

/** Marks our BatchMatMul so a second registration does not wrap the wrapper. */
const PATCHED = Symbol.for("ctxrec.engine.patchedKernel");

/** True once `registerEngineKernels` has run in this process (state kept in tfjs's own registry). */
export function engineKernelsRegistered(backendName = "wasm"): boolean {
  const k = tf.getKernel(tf.BatchMatMul, backendName) as (tf.KernelConfig & { [PATCHED]?: true }) | undefined;
  return k?.[PATCHED] === true;
}

/**
 * Runs `fn` with the upstream wasm BatchMatMul registered instead of ours (for benchmarks that
 * measure what a patch buys), then restores the patch.
 */
export function withUpstreamBatchMatMul<T>(fn: () => T): T {
  const patched = tf.getKernel(tf.BatchMatMul, "wasm") as tf.KernelConfig & { original?: tf.KernelConfig };
  if (patched?.original === undefined) return fn();
  tf.unregisterKernel(tf.BatchMatMul, "wasm");
  tf.registerKernel(patched.original);
  try {
    return fn();
  } finally {
    tf.unregisterKernel(tf.BatchMatMul, "wasm");
    tf.registerKernel(patched);
  }
}

/**
 * Registers ctxrec's kernels and gradients. Call it before `tf.setBackend("wasm")` so the engine
 * runs the kernels' setup functions at backend init (backend.ts does). Idempotent.
 */
export function registerEngineKernels(backendName = "wasm"): void {
  if (engineKernelsRegistered(backendName)) return;
  const original = tf.getKernel(tf.BatchMatMul, backendName);
  if (original === undefined) {
    throw new CtxrecError(
      "CTXREC_ERR_ENGINE",
      `kernel BatchMatMul is not registered for backend '${backendName}'`,
      { param: "backendName" },
    );
  }
  tf.unregisterKernel(tf.BatchMatMul, backendName);
  tf.registerKernel(Object.assign(fastBatchMatMulConfig(original), { [PATCHED]: true as const, original }));
  const gather = tf.getKernel(tf.GatherV2, backendName);
  if (gather !== undefined) {
    tf.unregisterKernel(tf.GatherV2, backendName);
    tf.registerKernel(gatherConfig(gather));
  }
  const replacements: [string, (original: tf.KernelConfig) => tf.KernelConfig][] = [
    [tf.Transpose, transposeConfig],
    [tf.Identity, identityConfig],
    [tf.Slice, sliceConfig],
    [tf.SplitV, splitVConfig],
    [tf.Sum, sumConfig],
  ];
  for (const [name, make] of replacements) {
    const upstream = tf.getKernel(name, backendName);
    if (upstream === undefined) continue;
    tf.unregisterKernel(name, backendName);
    tf.registerKernel(make(upstream));
  }
  if (tf.getKernel(tf.UnsortedSegmentSum, backendName) === undefined) {
    tf.registerKernel(unsortedSegmentSumConfig(backendName));
  }
  if (tf.getKernel(SOFTMAX_CROSS_ENTROPY, backendName) === undefined) {
    tf.registerKernel(softmaxCrossEntropyConfig(backendName));
  }
}
