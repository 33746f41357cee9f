/**
 * Multi-head self-attention written for the wasm engine: heads are split with reshapes and rank-3
 * transposes only (a rank-5 `[B,L,3,H,dh]` permutation measured ≈660 ms upstream at B=256, L=50,
 * d=64; the rank-3 one below a few ms), and every matmul hits the patched BatchMatMul.
 * Heads are laid out head-major ([H·B, L, dh]) which is equivalent for attention and needs only
 * one `[B·L, 3H, dh] → [3H, B·L, dh]` transpose in and one `[H, B·L, dh] → [B·L, H, dh]` out.
 */
import * as tf from "@tensorflow/tfjs-core";
import { requireArg } from "../core/errors.ts";
import type { Rng } from "../core/rng.ts";
import { wasmLiveBytes } from "./backend.ts";
import { assertHeapRoom } from "./kernels/heapGuard.ts";
import { linear } from "./linear.ts";
import { constVariable, glorotVariable } from "./params.ts";

/** Weights of multi-head self-attention with a fused QKV projection. */
export interface AttentionParams {
  /** [d, 3d]: columns are Q | K | V, each split into H heads of dh = d/H. */
  wQkv: tf.Variable<tf.Rank.R2>;
  /** [3d] */
  bQkv: tf.Variable<tf.Rank.R1>;
  /** [d, d] */
  wOut: tf.Variable<tf.Rank.R2>;
  /** [d] */
  bOut: tf.Variable<tf.Rank.R1>;
}

export function initAttentionParams(d: number, rng: Rng, name: string): AttentionParams {
  return {
    wQkv: glorotVariable(d, 3 * d, rng, `${name}/wQkv`),
    bQkv: constVariable(3 * d, 0, `${name}/bQkv`),
    wOut: glorotVariable(d, d, rng, `${name}/wOut`),
    bOut: constVariable(d, 0, `${name}/bOut`),
  };
}

/** Additive causal mask [L, L]: 0 where key ≤ query, −1e9 above the diagonal. */
export function causalMask(L: number): tf.Tensor2D {
  const m = new Float32Array(L * L);
  for (let i = 0; i < L; i++) for (let j = i + 1; j < L; j++) m[i * L + j] = -1e9;
  return tf.tensor2d(m, [L, L]);
}

/**
 * Splits fused projections [B·L, 3d] into q, k, v, each [H·B, L, dh] (head-major).
 * Only rank-3 transposes: [B·L, 3H, dh] → [3H, B·L, dh].
 */
export function splitHeads(
  qkv: tf.Tensor2D,
  B: number,
  L: number,
  heads: number,
): [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D] {
  const d = qkv.shape[1] / 3;
  const dh = d / heads;
  const t = tf.transpose(tf.reshape(qkv, [B * L, 3 * heads, dh]), [1, 0, 2]); // [3H, B·L, dh]
  const [q, k, v] = tf.split(tf.reshape(t, [3, heads * B * L * dh]), 3, 0);
  const shape: [number, number, number] = [heads * B, L, dh];
  return [tf.reshape(q, shape), tf.reshape(k, shape), tf.reshape(v, shape)];
}

/** Inverse of the head split for one tensor: [H·B, L, dh] → [B·L, H·dh]. */
export function mergeHeads(x: tf.Tensor3D, B: number, L: number, heads: number): tf.Tensor2D {
  const dh = x.shape[2];
  const t = tf.transpose(tf.reshape(x, [heads, B * L, dh]), [1, 0, 2]); // [B·L, H, dh]
  return tf.reshape(t, [B * L, heads * dh]);
}

/** Bytes of wasm heap one attention call holds at its peak: scores, masked scores, P, dP (n·L² floats each). */
export function attentionPeakBytes(n: number, L: number): number {
  return 4 * n * L * L * 4;
}

/**
 * Scaled dot-product attention: q, k, v [n, L, dh], mask [L, L] additive or none → [n, L, dh].
 *
 * A fused op with its own gradient (tf.customGrad) so that, of the [n, L, L] tensors, only the
 * probabilities P stay alive between the forward and the backward pass. Written with plain ops,
 * the tape kept the raw scores, the scaled scores, the masked scores and P in the forward pass,
 * and every [n, L, L] temporary of the backward pass until the whole backward pass ended
 * (tfjs frees backward temporaries only at the end of `gradients`): at B=256, L=200 (n = 512,
 * 82 MB per [n, L, L] tensor) that filled the 4 GiB wasm heap (kernels/heapGuard.ts). Here the
 * forward and backward temporaries are freed inside `tidy` as soon as they are used. The scale
 * 1/√dh is applied to q ([n, L, dh]) instead of the scores ([n, L, L]): one small pass less.
 *
 * Backward, with S = s·QKᵀ + M, P = softmax(S), O = PV, s = 1/√dh:
 *   dV = Pᵀ·dO,  dP = dO·Vᵀ,  dS = P ⊙ (dP − rowsum(P ⊙ dP)),  dQ = s·dS·K,  dK = s·dSᵀ·Q.
 */
export function scaledDotProductAttention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  mask?: tf.Tensor2D,
): tf.Tensor3D {
  const [n, L, dh] = q.shape;
  if (tf.getBackend() === "wasm") {
    // Fail with the fix before the allocation, never with a heap overflow mid-kernel.
    assertHeapRoom(`attention over [${n}, ${L}, ${L}]`, attentionPeakBytes(n, L), wasmLiveBytes());
  }
  const s = 1 / Math.sqrt(dh);
  // customGrad passes the inputs and then the save function in one rest list.
  const attend = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [qi, ki, vi] = args as tf.Tensor3D[];
    const save = args[3] as tf.GradSaveFunc;
    const [out, p] = tf.tidy(() => {
      let scores: tf.Tensor = tf.matMul(tf.mul(qi, s), ki, false, true);
      if (mask !== undefined) scores = tf.add(scores, mask);
      const probs = tf.softmax(scores) as tf.Tensor3D; // [n, L, L]
      return [tf.matMul(probs, vi), probs];
    });
    save([qi, ki, vi, p]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor3D, saved: tf.Tensor[]) => {
        const [sq, sk, sv, sp] = saved as tf.Tensor3D[];
        const dO = dy;
        return tf.tidy(() => {
          const dV = tf.matMul(sp, dO, true, false); // [n, L, dh]
          const pdp = tf.mul(sp, tf.matMul(dO, sv, false, true)); // P ⊙ dP  [n, L, L]
          const dS = tf.mul(tf.sub(pdp, tf.mul(sp, tf.sum(pdp, -1, true))), s); // s·dS
          return [tf.matMul(dS, sk), tf.matMul(dS, sq, true, false), dV];
        });
      },
    };
  });
  return attend(q, k, v) as tf.Tensor3D;
}

/** x [B, L, d] → [B, L, d]. `causal` (default true) masks attention to later positions. */
export function multiHeadSelfAttention(
  x: tf.Tensor3D,
  p: AttentionParams,
  opts: { heads: number; causal?: boolean },
): tf.Tensor3D {
  const [B, L, d] = x.shape;
  requireArg(d % opts.heads === 0, "heads", `width ${d} is not divisible by ${opts.heads} heads`);
  const qkv = linear(tf.reshape(x, [B * L, d]), p.wQkv, p.bQkv) as tf.Tensor2D;
  const [q, k, v] = splitHeads(qkv, B, L, opts.heads);
  const mask = opts.causal === false ? undefined : causalMask(L);
  const ctx = scaledDotProductAttention(q, k, v, mask);
  const out = linear(mergeHeads(ctx, B, L, opts.heads), p.wOut, p.bOut);
  return tf.reshape(out, [B, L, d]);
}
