/**
 * A `BatchMatMul` for the wasm backend that keeps every case on XNNPACK's fast path.
 *
 * Why: tfjs-backend-wasm 4.22.0 (`batch_mat_mul_impl.cc`) calls XNNPACK's fully-connected
 * operator only when neither operand is transposed and both batch sizes are 1; every other case
 * (each backward-pass matmul, any `[B,L,D]×[D,F]`, attention) runs a blocked scalar loop. Measured
 * on this machine (bench/kernels.ts, see kernels/index.ts for the figures): the scalar loop gives
 * ≈1.3–1.9 GFLOP/s, the XNNPACK path ≈15–25.
 *
 * How: shapes are reduced to the one fast call `[1,M,K]×[1,K,N]`:
 * - transposed operands are transposed explicitly first (a wasm Transpose, O(size) not O(M·K·N));
 * - a broadcast batch (`b` has batch 1) is folded into rows: `[B·L,D]×[D,F]`;
 * - a true batched product (attention) is dispatched batch by batch through zero-copy views of the
 *   operands and of the output, so no slice or concat copies are made.
 * Broadcasting patterns other than "same batch" or "one side batch 1" go to the original kernel.
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  dispose,
  emscripten,
  type Info,
  releaseView,
  reshaped,
  transposeLast2,
  viewOf,
  type Wasm,
} from "./wasmHeap.ts";

type WasmBatchMatMul = (
  aId: number,
  aShape: Uint8Array,
  aRank: number,
  bId: number,
  bShape: Uint8Array,
  bRank: number,
  transposeA: boolean,
  transposeB: boolean,
  outId: number,
) => void;

/** Shape bytes as the wasm entry point reads them (int32, little endian). */
function shapeBytes(shape: number[]): Uint8Array {
  return new Uint8Array(new Int32Array(shape).buffer);
}

/**
 * Builds the replacement kernel config. `original` is the upstream config: its setup function is
 * kept (the engine runs it at backend init) and its kernel is the fallback for odd broadcasts.
 */
export function fastBatchMatMulConfig(original: tf.KernelConfig): tf.KernelConfig {
  // The cwrapped wasm entry point, bound per backend instance in setupFunc (a fresh backend gets a
  // fresh binding: this closure is per registration, not a module-level singleton).
  let wasmMatMul: WasmBatchMatMul | undefined;
  const backendName = original.backendName;

  /** out[1,M,N] = a[1,M,K] × b[1,K,N] on the XNNPACK path (no transposes, batch 1). */
  function fastCall(backend: Wasm, a: Info, b: Info, out: Info): void {
    if (wasmMatMul === undefined) {
      wasmMatMul = emscripten(backend).cwrap(tf.BatchMatMul, null, [
        "number",
        "array",
        "number",
        "number",
        "array",
        "number",
        "number",
        "number",
        "number",
      ]) as unknown as WasmBatchMatMul;
    }
    const aId = backend.dataIdMap.get(a.dataId)?.id ?? 0;
    const bId = backend.dataIdMap.get(b.dataId)?.id ?? 0;
    const outId = backend.dataIdMap.get(out.dataId)?.id ?? 0;
    wasmMatMul(aId, shapeBytes(a.shape), 3, bId, shapeBytes(b.shape), 3, false, false, outId);
  }

  function kernelFunc(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }) {
    const backend = args.backend as Wasm;
    const a = args.inputs.a as Info;
    const b = args.inputs.b as Info;
    const transposeA = Boolean(args.attrs?.transposeA);
    const transposeB = Boolean(args.attrs?.transposeB);
    if (a.dtype !== "float32" || b.dtype !== "float32") return original.kernelFunc(args as never);

    const ra = a.shape.length;
    const rb = b.shape.length;
    const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
    const K = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
    const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
    const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
    if (K !== kb) return original.kernelFunc(args as never); // upstream raises the shape error
    const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
    const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
    const outOuter = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const outShape = [...outOuter, M, N];
    if (batchB !== 1 && batchA !== 1 && batchA !== batchB) return original.kernelFunc(args as never);
    if (M * N * K === 0) return original.kernelFunc(args as never);

    // Operands as [batch, M, K] and [batch, K, N], transposing explicitly where asked.
    const temps: Info[] = [];
    let a3 = reshaped(a, [batchA, a.shape[ra - 2], a.shape[ra - 1]]);
    if (transposeA) {
      a3 = transposeLast2(backend, a3, backendName);
      temps.push(a3);
    }
    let b3 = reshaped(b, [batchB, b.shape[rb - 2], b.shape[rb - 1]]);
    if (transposeB) {
      b3 = transposeLast2(backend, b3, backendName);
      temps.push(b3);
    }

    let out: Info;
    if (batchB === 1) {
      // Broadcast b: fold a's batch into rows, one call [1, batchA·M, K] × [1, K, N].
      out = backend.makeOutput([1, batchA * M, N], "float32");
      fastCall(backend, reshaped(a3, [1, batchA * M, K]), reshaped(b3, [1, K, N]), out);
    } else {
      // True batched product: one fast call per batch on views (no copies).
      out = backend.makeOutput([batchB, M, N], "float32");
      for (let i = 0; i < batchB; i++) {
        const av = viewOf(backend, a3, (batchA === 1 ? 0 : i) * M * K, [1, M, K]);
        const bv = viewOf(backend, b3, i * K * N, [1, K, N]);
        const ov = viewOf(backend, out, i * M * N, [1, M, N]);
        fastCall(backend, av, bv, ov);
        releaseView(backend, av);
        releaseView(backend, bv);
        releaseView(backend, ov);
      }
    }
    for (const t of temps) dispose(backend, t);
    return { dataId: out.dataId, shape: outShape, dtype: out.dtype };
  }

  return {
    kernelName: tf.BatchMatMul,
    backendName,
    setupFunc: (backend) => {
      wasmMatMul = undefined;
      original.setupFunc?.(backend);
    },
    kernelFunc: kernelFunc as tf.KernelFunc,
  };
}
