/**
 * `UnsortedSegmentSum` for the wasm backend, which does not register it in 4.22.0. It is the
 * gradient of `gather`, so without it no embedding lookup can be trained on wasm ("Kernel
 * 'UnsortedSegmentSum' not registered for backend 'wasm'").
 *
 *   x [n, ...inner], segmentIds [n] int32, numSegments S  →  out [S, ...inner]
 *   out[s] = Σ_{i : segmentIds[i] = s} x[i]
 *
 * A plain loop over the heap: one pass over x, O(n·inner), no allocation besides the output.
 * Negative ids are dropped (TensorFlow's semantics); ids ≥ S are an error.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Info, Wasm } from "./wasmHeap.ts";

/** Sums rows of `x` into `out` by segment id (both flat, `inner` values per row). */
export function segmentSumInto(
  x: ArrayLike<number>,
  ids: ArrayLike<number>,
  inner: number,
  out: { [i: number]: number; length: number },
): void {
  const segments = out.length / inner;
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0) continue;
    if (s >= segments)
      throw new Error(`UnsortedSegmentSum: segment id ${s} at index ${i} is not below ${segments}`);
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) out[dst + j] += x[src + j];
  }
}

export function unsortedSegmentSumConfig(backendName: string): tf.KernelConfig {
  return {
    kernelName: tf.UnsortedSegmentSum,
    backendName,
    kernelFunc: (args) => {
      const backend = args.backend as Wasm;
      const x = args.inputs.x as Info;
      const ids = args.inputs.segmentIds as Info;
      const numSegments = Number(args.attrs?.numSegments);
      const inner = tf.util.sizeFromShape(x.shape.slice(1));
      if (tf.util.sizeFromShape(ids.shape) !== x.shape[0]) {
        throw new Error(`UnsortedSegmentSum: segmentIds has ${ids.shape} but x has ${x.shape[0]} rows`);
      }
      const out = backend.makeOutput([numSegments, ...x.shape.slice(1)], x.dtype);
      const outVals = backend.typedArrayFromHeap(out);
      outVals.fill(0); // malloc'ed memory is not zeroed
      segmentSumInto(backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(ids), inner, outVals);
      return out;
    },
  };
}
