/**
 * Low-level helpers for kernels that run inside the wasm backend: typed access to the backend,
 * zero-copy views of tensors that live on the wasm heap, and calls to other wasm kernels without
 * going through the tape. Only code under `engine/kernels` uses this module.
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import * as tf from "@tensorflow/tfjs-core";

/** A tensor as the backend sees it: a data id, a shape and a dtype (no tape, no refcount). */
export type Info = tf.TensorInfo;

/** The wasm backend object handed to kernel functions. */
export type Wasm = BackendWasm;

/** The same data with another shape (what Reshape does, without touching the refcount). */
export function reshaped(x: Info, shape: number[]): Info {
  return { dataId: x.dataId, shape, dtype: x.dtype };
}

/** Disposes an intermediate produced inside a kernel. */
export function dispose(backend: Wasm, x: Info): void {
  backend.disposeData(x.dataId);
}

/** Runs another registered kernel of `backendName` directly (no tape, no engine bookkeeping). */
export function callKernel(
  name: string,
  backendName: string,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap,
  backend: Wasm,
): Info {
  const config = tf.getKernel(name, backendName);
  if (config === undefined) throw new Error(`kernel ${name} is not registered for ${backendName}`);
  const out = config.kernelFunc({ inputs, attrs, backend });
  if (Array.isArray(out)) throw new Error(`kernel ${name} returned several outputs`);
  return out;
}

/** Explicit transpose of the last two axes of a rank-3 `[n, r, c]` tensor → `[n, c, r]` (a new buffer). */
export function transposeLast2(backend: Wasm, x: Info, backendName: string): Info {
  const [n, r, c] = x.shape;
  if (n === 1)
    return callKernel("Transpose", backendName, { x: reshaped(x, [r, c]) }, { perm: [1, 0] }, backend);
  return callKernel("Transpose", backendName, { x }, { perm: [0, 2, 1] }, backend);
}

/** The emscripten module's members we use (its published typings omit them). */
export interface EmscriptenModule {
  HEAPU8: Uint8Array;
  // biome-ignore lint/complexity/noBannedTypes: emscripten's cwrap returns an untyped function.
  cwrap(name: string, ret: string | null, args: string[]): Function;
}

/** The emscripten module behind a wasm backend. */
export function emscripten(backend: Wasm): EmscriptenModule {
  return backend.wasm as unknown as EmscriptenModule;
}

/** What a kernel's fast path returns; `undefined` hands the call back to the upstream kernel. */
type FastPath = (args: Parameters<tf.KernelFunc>[0]) => tf.TensorInfo | tf.TensorInfo[] | undefined;

/**
 * A replacement for the upstream kernel `original` (same name, backend and set-up) that runs `fast`
 * and falls back to the upstream implementation for the cases `fast` declines (dtypes, layouts).
 */
export function overrideKernel(original: tf.KernelConfig, fast: FastPath): tf.KernelConfig {
  return {
    kernelName: original.kernelName,
    backendName: original.backendName,
    setupFunc: original.setupFunc,
    kernelFunc: (args) => fast(args) ?? original.kernelFunc(args),
  };
}
