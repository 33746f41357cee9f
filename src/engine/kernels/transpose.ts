/**
 * `Transpose` for the wasm backend as a cache-blocked loop over the heap.
 *
 * Why: the upstream wasm kernel moves one element at a time through a generic index computation:
 * measured 8.8 ms for a 2-D [12800,64] transpose (≈10 ns/element), 2.8 ms for [512,50,32]→021,
 * and 662 ms for a rank-5 [256,50,3,2,32] permutation. Every explicit transpose in the BatchMatMul
 * patch and every attention head split pays this. Here axes that stay together are merged first
 * (so most permutations become a batched 2-D transpose), then copied in 32×32 tiles (2-D) or with
 * an odometer whose innermost loop is a strided read (any rank). Measured: see kernels/index.ts.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Info, Wasm } from "./wasmHeap.ts";
import { overrideKernel } from "./wasmHeap.ts";

/**
 * Drops size-1 axes and merges runs of input axes that stay adjacent and in order in `perm`.
 * Returns the reduced input shape and permutation (same data, same output order).
 */
export function simplifyPermutation(
  shape: readonly number[],
  perm: readonly number[],
): { shape: number[]; perm: number[] } {
  const keep = perm.filter((p) => shape[p] !== 1);
  // Runs of consecutive input axes, in output order.
  const groups: number[][] = [];
  for (const p of keep) {
    const last = groups[groups.length - 1];
    if (last !== undefined && last[last.length - 1] + 1 === p) last.push(p);
    else groups.push([p]);
  }
  // The merged input axes are the groups sorted by their first input axis.
  const order = groups.map((g, i) => ({ first: g[0], i })).sort((a, b) => a.first - b.first);
  const newShape = order.map(({ i }) => groups[i].reduce((s, p) => s * shape[p], 1));
  const rank = new Array<number>(groups.length);
  order.forEach(({ i }, k) => {
    rank[i] = k;
  });
  return { shape: newShape, perm: rank };
}

/** out[j, i] = x[i, j] for `n` stacked r×c matrices (x [n,r,c] → out [n,c,r]), in 32×32 tiles. */
export function transposeBatched2d(
  x: Float32Array,
  out: Float32Array,
  n: number,
  r: number,
  c: number,
): void {
  const T = 32;
  const size = r * c;
  for (let b = 0; b < n; b++) {
    const base = b * size;
    for (let i0 = 0; i0 < r; i0 += T) {
      const i1 = Math.min(i0 + T, r);
      for (let j0 = 0; j0 < c; j0 += T) {
        const j1 = Math.min(j0 + T, c);
        for (let i = i0; i < i1; i++) {
          const src = base + i * c;
          for (let j = j0; j < j1; j++) out[base + j * r + i] = x[src + j];
        }
      }
    }
  }
}

/** General permutation: out[odometer over out shape] = x[Σ idx·stride], innermost axis strided. */
export function transposeGeneral(x: Float32Array, out: Float32Array, shape: number[], perm: number[]): void {
  const rank = shape.length;
  const inStrides = tf.util.computeStrides(shape).concat([1]);
  const outShape = perm.map((p) => shape[p]);
  const strideOfOut = perm.map((p) => inStrides[p]);
  const inner = outShape[rank - 1];
  const innerStride = strideOfOut[rank - 1];
  const idx = new Array<number>(rank).fill(0);
  const total = tf.util.sizeFromShape(shape);
  let o = 0;
  let src = 0;
  while (o < total) {
    if (innerStride === 1) out.set(x.subarray(src, src + inner), o);
    else for (let j = 0; j < inner; j++) out[o + j] = x[src + j * innerStride];
    o += inner;
    // Advance the odometer over the outer output axes.
    let k = rank - 2;
    while (k >= 0) {
      idx[k]++;
      src += strideOfOut[k];
      if (idx[k] < outShape[k]) break;
      src -= strideOfOut[k] * outShape[k];
      idx[k] = 0;
      k--;
    }
  }
}

export function transposeConfig(original: tf.KernelConfig): tf.KernelConfig {
  return overrideKernel(original, (args) => {
    const backend = args.backend as Wasm;
    const x = args.inputs.x as Info;
    const perm = args.attrs?.perm as number[];
    const s = simplifyPermutation(x.shape, perm);
    if (
      x.dtype !== "float32" ||
      (s.shape.length === 3 && !(s.perm[0] === 0 && s.perm[1] === 2)) ||
      s.shape.length === 4
    ) {
      return undefined;
    }
    const outShape = perm.map((p) => x.shape[p]);
    const out = backend.makeOutput(outShape, x.dtype);
    const xs = backend.typedArrayFromHeap(x) as Float32Array;
    const os = backend.typedArrayFromHeap(out) as Float32Array;
    if (s.shape.length <= 1) os.set(xs);
    else if (s.shape.length === 2) transposeBatched2d(xs, os, 1, s.shape[0], s.shape[1]);
    else if (s.shape.length === 3 && s.perm[0] === 0 && s.perm[1] === 2) {
      transposeBatched2d(xs, os, s.shape[0], s.shape[1], s.shape[2]);
    } else transposeGeneral(xs, os, s.shape, s.perm);
    return out;
  });
}
