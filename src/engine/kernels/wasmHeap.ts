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

/**
 * A view of `size(shape)` elements of `x` starting at element `offset`, registered with the wasm
 * side so wasm kernels can read or write it in place. Release it with `releaseView`, never with
 * `disposeData` (which would free memory the view does not own).
 */
export function viewOf(backend: Wasm, x: Info, offset: number, shape: number[]): Info {
  const base = backend.dataIdMap.get(x.dataId);
  if (base === undefined) throw new Error("viewOf: tensor is not on the wasm backend");
  return backend.makeOutput(shape, x.dtype, base.memoryOffset + offset * 4);
}

/** Unregisters a view made by `viewOf` without freeing the memory it points into. */
export function releaseView(backend: Wasm, view: Info): void {
  const data = backend.dataIdMap.get(view.dataId);
  if (data === undefined) return;
  backend.wasm.tfjs.disposeData(data.id);
  backend.dataIdMap.delete(view.dataId);
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
