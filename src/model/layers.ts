/**
 * Small layers the model needs on top of the engine: seeded dropout, a dense layer with its own
 * variables, and a pre-norm causal Transformer block WITH dropout on the attention weights and the
 * residual branches (the engine's `transformerBlock` has none, and SASRec-family models on sparse
 * data such as Beauty depend on it). Built from the engine's pieces (`splitHeads`, `mergeHeads`,
 * `causalMask`, `layerNorm`, `linear`) so every matmul stays on the patched fast paths.
 * Shapes: B batch, L length, d width, H heads.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Rng } from "../core/rng.ts";
import { causalMask, mergeHeads, splitHeads } from "../engine/attention.ts";
import { type BlockParams, layerNorm } from "../engine/blocks.ts";
import { linear } from "../engine/linear.ts";
import { constVariable, glorotVariable } from "../engine/params.ts";
import type { EncoderArgs } from "./config.ts";
import { dropout, dropoutHeads, type RowDropout } from "./rowDropout.ts";

/** A dense layer's variables: w [in, out], b [out]. */
export interface DenseParams {
  w: tf.Variable<tf.Rank.R2>;
  b: tf.Variable<tf.Rank.R1>;
}

export function initDense(inDim: number, outDim: number, rng: Rng, name: string): DenseParams {
  return { w: glorotVariable(inDim, outDim, rng, `${name}/w`), b: constVariable(outDim, 0, `${name}/b`) };
}

/** x [..., in] → [..., out]. */
export function dense(x: tf.Tensor, p: DenseParams): tf.Tensor {
  return linear(x, p.w, p.b);
}

/** A [rows, cols] variable with N(0, scale²) values from `rng`. */
export function normalVariable(
  rows: number,
  cols: number,
  scale: number,
  rng: Rng,
  name: string,
): tf.Variable<tf.Rank.R2> {
  const v = new Float32Array(rows * cols);
  for (let i = 0; i < v.length; i++) v[i] = rng.normal() * scale;
  return tf.variable(tf.tensor2d(v, [rows, cols]), true, name);
}

/**
 * Causal multi-head attention with dropout on the attention weights: queries from `xq`, keys and
 * values from `xkv` (the same tensor for plain self-attention, one fused projection then).
 * xq, xkv [B, L, d] → [B, L, d]; position t attends to positions ≤ t only.
 */
function causalAttention(
  xq: tf.Tensor3D,
  xkv: tf.Tensor3D,
  p: BlockParams["attention"],
  heads: number,
  rate: number,
  drop: RowDropout | undefined,
): tf.Tensor3D {
  const [B, L, d] = xq.shape;
  const project = (x: tf.Tensor3D) => linear(tf.reshape(x, [B * L, d]), p.wQkv, p.bQkv) as tf.Tensor2D;
  const qkv = project(xkv);
  const [q0, k, v] = splitHeads(qkv, B, L, heads);
  // Separate query input: its own projection (the Q columns of it are the ones read).
  const q = xq === xkv ? q0 : splitHeads(project(xq), B, L, heads)[0];
  const dh = d / heads;
  const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)), causalMask(L));
  const weights = dropoutHeads(tf.softmax(scores), rate, drop, heads); // [H·B, L, L]
  const ctx = tf.matMul(weights, v) as tf.Tensor3D;
  const out = linear(mergeHeads(ctx, B, L, heads), p.wOut, p.bOut);
  return tf.reshape(out, [B, L, d]);
}

/** Position-wise feed-forward with dropout on its hidden and output: x [B, L, d] → [B, L, d]. */
function feedForward(
  x: tf.Tensor3D,
  p: BlockParams,
  rate: number,
  drop: RowDropout | undefined,
): tf.Tensor3D {
  const hidden = tf.relu(linear(x, p.w1, p.b1));
  return dropout(linear(dropout(hidden, rate, drop), p.w2, p.b2), rate, drop) as tf.Tensor3D;
}

/**
 * One causal block with dropout, x [B, L, d] → [B, L, d], in the layout `args.block` names:
 *   "pre-norm": h = x + drop(Attn(LN₁x)); y = h + drop(FFN(LN₂h)).
 *   "sasrec":   q = LN₁x; h = q + Attn(q; x); z = LN₂h; y = z + drop(FFN(z)) (SASRec's code).
 * Uses the engine's `BlockParams` (initialised by `initBlockParams`).
 */
export function causalBlock(
  x: tf.Tensor3D,
  p: BlockParams,
  args: Pick<EncoderArgs, "heads" | "dropout" | "block">,
  drop: RowDropout | undefined,
): tf.Tensor3D {
  const { heads, dropout: rate } = args;
  const q = layerNorm(x, p.ln1Gamma, p.ln1Beta) as tf.Tensor3D;
  if (args.block === "sasrec") {
    const h = tf.add(q, causalAttention(q, x, p.attention, heads, rate, drop)) as tf.Tensor3D;
    const z = layerNorm(h, p.ln2Gamma, p.ln2Beta) as tf.Tensor3D;
    return tf.add(z, feedForward(z, p, rate, drop)) as tf.Tensor3D;
  }
  const h = tf.add(
    x,
    dropout(causalAttention(q, q, p.attention, heads, rate, drop), rate, drop),
  ) as tf.Tensor3D;
  return tf.add(
    h,
    feedForward(layerNorm(h, p.ln2Gamma, p.ln2Beta) as tf.Tensor3D, p, rate, drop),
  ) as tf.Tensor3D;
}

/** Row-wise L2 normalisation x [n, d] → [n, d] (ε keeps zero rows finite). */
export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(x, tf.rsqrt(tf.add(tf.sum(tf.square(x), 1, true), 1e-12))) as tf.Tensor2D;
}

/**
 * The identity in the forward pass with no gradient to `x` (tfjs-core has no stopGradient): lets
 * one loss train the layers after `x` but not those before it.
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const detach = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xi = args[0] as tf.Tensor;
    return { value: tf.clone(xi), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
  });
  return detach(x) as T;
}
