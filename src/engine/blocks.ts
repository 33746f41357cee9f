/**
 * Model-agnostic building blocks written with tfjs ops that stay on the patched fast paths:
 * dense layers on 2-D operands, layer norm, a feed-forward net and a pre-norm Transformer block.
 * Shapes: B batch, L sequence length, d width, F feed-forward width, H heads.
 */
import * as tf from "@tensorflow/tfjs-core";
import { requireArg } from "../core/errors.ts";
import type { Rng } from "../core/rng.ts";
import { type AttentionParams, initAttentionParams, multiHeadSelfAttention } from "./attention.ts";
import { linear } from "./linear.ts";
import { constVariable, glorotVariable } from "./params.ts";

/** Layer normalisation over the last axis: x [..., d], gamma [d], beta [d] → [..., d]. */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-5): tf.Tensor {
  const axis = x.rank - 1;
  const mean = tf.mean(x, axis, true);
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centered), axis, true);
  return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, eps))), gamma), beta);
}

/** Feed-forward activation. */
export type Activation = "relu" | "gelu";

/** GELU, tanh approximation (as PyTorch's `gelu(approximate="tanh")`). */
export function gelu(x: tf.Tensor): tf.Tensor {
  const c = Math.sqrt(2 / Math.PI);
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), c);
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

/** Weights of a pre-norm Transformer block. */
export interface BlockParams {
  ln1Gamma: tf.Variable<tf.Rank.R1>;
  ln1Beta: tf.Variable<tf.Rank.R1>;
  attention: AttentionParams;
  ln2Gamma: tf.Variable<tf.Rank.R1>;
  ln2Beta: tf.Variable<tf.Rank.R1>;
  /** [d, F] */
  w1: tf.Variable<tf.Rank.R2>;
  /** [F] */
  b1: tf.Variable<tf.Rank.R1>;
  /** [F, d] */
  w2: tf.Variable<tf.Rank.R2>;
  /** [d] */
  b2: tf.Variable<tf.Rank.R1>;
}

/** Options of `transformerBlock`. */
export interface BlockOptions {
  /** Number of attention heads H (d must be divisible by H). */
  heads: number;
  /** Mask attention to earlier positions only (default true, as a sequence encoder needs). */
  causal?: boolean;
  /** Feed-forward activation (default "relu"). */
  activation?: Activation;
}

/** Fresh block weights: d width, F feed-forward width; names are prefixed with `name`. */
export function initBlockParams(d: number, ffn: number, rng: Rng, name: string): BlockParams {
  return {
    ln1Gamma: constVariable(d, 1, `${name}/ln1/gamma`),
    ln1Beta: constVariable(d, 0, `${name}/ln1/beta`),
    attention: initAttentionParams(d, rng, `${name}/attn`),
    ln2Gamma: constVariable(d, 1, `${name}/ln2/gamma`),
    ln2Beta: constVariable(d, 0, `${name}/ln2/beta`),
    w1: glorotVariable(d, ffn, rng, `${name}/ffn/w1`),
    b1: constVariable(ffn, 0, `${name}/ffn/b1`),
    w2: glorotVariable(ffn, d, rng, `${name}/ffn/w2`),
    b2: constVariable(d, 0, `${name}/ffn/b2`),
  };
}

/** All variables of a block, for the optimizer. */
export function blockVariables(p: BlockParams): tf.Variable[] {
  const a = p.attention;
  return [
    p.ln1Gamma,
    p.ln1Beta,
    a.wQkv,
    a.bQkv,
    a.wOut,
    a.bOut,
    p.ln2Gamma,
    p.ln2Beta,
    p.w1,
    p.b1,
    p.w2,
    p.b2,
  ];
}

/**
 * Pre-norm Transformer block: h = x + Attn(LN₁(x)); y = h + W₂·act(W₁·LN₂(h) + b₁) + b₂.
 * x [B, L, d] → [B, L, d].
 */
export function transformerBlock(x: tf.Tensor3D, p: BlockParams, opts: BlockOptions): tf.Tensor3D {
  requireArg(x.rank === 3, "x", `expected [B, L, d], received [${x.shape.join(", ")}]`);
  const h = tf.add(
    x,
    multiHeadSelfAttention(layerNorm(x, p.ln1Gamma, p.ln1Beta) as tf.Tensor3D, p.attention, opts),
  );
  const hidden = linear(layerNorm(h, p.ln2Gamma, p.ln2Beta), p.w1, p.b1);
  const act = opts.activation === "gelu" ? gelu(hidden) : tf.relu(hidden);
  return tf.add(h, linear(act, p.w2, p.b2)) as tf.Tensor3D;
}
