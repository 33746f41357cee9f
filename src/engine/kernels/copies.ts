/**
 * Copy-free or copy-light versions of the wasm kernels that only move data: `Identity`, `Slice`
 * and `SplitV`. The measured effect of each is in kernels/index.ts.
 *
 * Why: upstream (tfjs-backend-wasm 4.22.0) `Identity` copies its whole input into a new buffer,
 * and `Slice` first reads its WHOLE input out of the heap with `readSync` (a fresh JS copy) before
 * copying the slice; `SplitV` calls that `Slice` once per piece, so splitting `[3, n]` in three
 * copies the input three times plus the pieces. Here `Identity` shares the input's buffer (tfjs
 * tensors are immutable; the cpu backend does the same) and `Slice` copies only the selected runs
 * straight from a heap view.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Info, Wasm } from "./wasmHeap.ts";
import { overrideKernel } from "./wasmHeap.ts";

/** Identity as a new reference to the same data (refcount + 1, no copy). */
export function identityConfig(original: tf.KernelConfig): tf.KernelConfig {
  return overrideKernel(original, (args) => {
    const backend = args.backend as Wasm;
    const x = args.inputs.x as Info;
    if (x.dtype === "string") return undefined;
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  });
}

/**
 * Copies the box `begin`/`size` of `x` (row-major, shape `shape`) into `out`, one contiguous run
 * of the innermost axis at a time (an odometer over the outer output axes).
 */
export function copyBox(
  x: Float32Array | Int32Array | Uint8Array,
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
  out: Float32Array | Int32Array | Uint8Array,
): void {
  const rank = shape.length;
  if (rank === 0) {
    out[0] = x[0];
    return;
  }
  const strides = tf.util.computeStrides(shape as number[]).concat([1]);
  const inner = size[rank - 1];
  const total = tf.util.sizeFromShape(size as number[]);
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  for (let a = 0; a < rank; a++) src += begin[a] * strides[a];
  for (let o = 0; o < total; o += inner) {
    out.set(x.subarray(src, src + inner), o);
    let k = rank - 2;
    while (k >= 0) {
      idx[k]++;
      src += strides[k];
      if (idx[k] < size[k]) break;
      src -= strides[k] * size[k];
      idx[k] = 0;
      k--;
    }
  }
}

/** Slice of `x` as a new tensor: reads only the selected elements, from a heap view. */
function sliceInfo(backend: Wasm, x: Info, beginAttr: number | number[], sizeAttr: number | number[]): Info {
  const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, beginAttr, sizeAttr);
  const out = backend.makeOutput(size, x.dtype);
  if (tf.util.sizeFromShape(size) === 0) return out;
  // Views are taken after makeOutput: growing the heap detaches older views.
  const xs = backend.typedArrayFromHeap(x);
  const os = backend.typedArrayFromHeap(out);
  if (tf.slice_util.isSliceContinous(x.shape, begin, size)) {
    const off = tf.slice_util.computeFlatOffset(begin, tf.util.computeStrides(x.shape));
    os.set(xs.subarray(off, off + tf.util.sizeFromShape(size)));
  } else {
    copyBox(xs, x.shape, begin, size, os);
  }
  return out;
}

export function sliceConfig(original: tf.KernelConfig): tf.KernelConfig {
  return overrideKernel(original, (args) => {
    const x = args.inputs.x as Info;
    if (x.dtype === "string") return undefined;
    const attrs = args.attrs as unknown as tf.SliceAttrs;
    return sliceInfo(args.backend as Wasm, x, attrs.begin, attrs.size);
  });
}

export function splitVConfig(original: tf.KernelConfig): tf.KernelConfig {
  return overrideKernel(original, (args) => {
    const x = args.inputs.x as Info;
    if (x.dtype === "string") return undefined;
    const attrs = args.attrs as unknown as tf.SplitVAttrs;
    const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits, axis);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[axis] = s;
      const piece = sliceInfo(args.backend as Wasm, x, [...begin], size);
      begin[axis] += s;
      return piece;
    });
  });
}
