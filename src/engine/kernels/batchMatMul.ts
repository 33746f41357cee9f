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
import { dispose, emscripten, type Info, reshaped, transposeLast2, type Wasm } from "./wasmHeap.ts";

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

/**
 * Relative cost per element of XNNPACK packing its weights operand versus an explicit transpose,
 * used to pick the cheaper arrangement of a single product (see `swapIsCheaper`).
 */
const PACK_COST = 2;

/**
 * True when out = A·B is cheaper as outᵀ = Bᵀ·Aᵀ (then transposed back). Why: XNNPACK takes the
 * right operand as "weights" and repacks it on every call (b is a fresh tensor each step) with a
 * transposing, cache-unfriendly read; for a weight gradient `xᵀ·dy` with x [B·L, 64], dy [B·L, 256]
 * that packs 3.3M floats, while the swapped form packs x (0.8M) and transposes dy instead.
 * Costs in elements: direct = transposes of A (if tA) and B (if tB) + PACK_COST·K·N; swapped =
 * transposes of B (if !tB), A (if !tA) and the [N, M] output + PACK_COST·K·M.
 */
export function swapIsCheaper(M: number, K: number, N: number, tA: boolean, tB: boolean): boolean {
  const direct = (tA ? M * K : 0) + (tB ? K * N : 0) + PACK_COST * K * N;
  const swapped = (tB ? 0 : K * N) + (tA ? 0 : M * K) + M * N + PACK_COST * K * M;
  return swapped < direct;
}

/** The raw emscripten exports the batched loop calls (pointers and ids are plain numbers). */
interface RawModule {
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  _BatchMatMul(
    aId: number,
    aShapePtr: number,
    aRank: number,
    bId: number,
    bShapePtr: number,
    bRank: number,
    transposeA: number,
    transposeB: number,
    outId: number,
  ): void;
  tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
}

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

  /**
   * out[i] = a[i or 0] × b[i] for i < n, one XNNPACK call per batch on views registered straight
   * with the wasm side. Why not zero-copy heap views + the cwrapped entry: for attention (n = B·H = 512 tiny
   * products per matmul) the JS around each call (three TensorInfo objects and map entries, two
   * shape arrays copied onto the stack per call) cost as much as the products. Here three view
   * ids are reused (disposing an id also drops XNNPACK's operator cached on it) and the shapes sit
   * in one 24-byte heap buffer. Measured in one process, alternating, best of 7 ([512,50,32]
   * operands, machine at load ≈4): QKᵀ 23.6–28.9 → 23.0–23.2 ms (it includes transposing k),
   * PV 17.5–18.3 → 14.2–15.7 ms; the same FLOPs as one 2-D product take 6–12 ms.
   */
  function batchedCalls(
    backend: Wasm,
    a3: Info,
    b3: Info,
    out: Info,
    n: number,
    broadcastA: boolean,
    M: number,
    K: number,
    N: number,
  ): void {
    const mod = backend.wasm as unknown as RawModule;
    const aBase = backend.dataIdMap.get(a3.dataId)?.memoryOffset ?? 0;
    const bBase = backend.dataIdMap.get(b3.dataId)?.memoryOffset ?? 0;
    const oBase = backend.dataIdMap.get(out.dataId)?.memoryOffset ?? 0;
    const shapes = mod._malloc(24) >>> 0;
    new Int32Array(mod.HEAPU8.buffer, shapes, 6).set([1, M, K, 1, K, N]);
    // Fresh ids from the backend's counter, so they never collide with a tensor's.
    const ids = backend as unknown as { dataIdNextNumber: number };
    const [ia, ib, io] = [ids.dataIdNextNumber++, ids.dataIdNextNumber++, ids.dataIdNextNumber++];
    const { registerTensor, disposeData } = mod.tfjs;
    try {
      for (let i = 0; i < n; i++) {
        registerTensor(ia, M * K, aBase + (broadcastA ? 0 : i * M * K * 4));
        registerTensor(ib, K * N, bBase + i * K * N * 4);
        registerTensor(io, M * N, oBase + i * M * N * 4);
        mod._BatchMatMul(ia, shapes, 3, ib, shapes + 12, 3, 0, 0, io);
        disposeData(ia);
        disposeData(ib);
        disposeData(io);
      }
    } finally {
      mod._free(shapes);
    }
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

    if (batchA === 1 && batchB === 1 && swapIsCheaper(M, K, N, transposeA, transposeB)) {
      // outᵀ [N, M] = Bᵀ [N, K] × Aᵀ [K, M]: a transposed operand is already stored the swapped way.
      const bt = transposeB ? b : transposeLast2(backend, reshaped(b, [1, K, N]), backendName);
      const at = transposeA ? a : transposeLast2(backend, reshaped(a, [1, M, K]), backendName);
      const outT = backend.makeOutput([1, N, M], "float32");
      fastCall(backend, reshaped(bt, [1, N, K]), reshaped(at, [1, K, M]), outT);
      if (!transposeB) dispose(backend, bt);
      if (!transposeA) dispose(backend, at);
      const out = transposeLast2(backend, outT, backendName);
      dispose(backend, outT);
      return { dataId: out.dataId, shape: outShape, dtype: out.dtype };
    }

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
      batchedCalls(backend, a3, b3, out, batchB, batchA === 1, M, K, N);
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
