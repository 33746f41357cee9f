/**
 * Fusion (DESIGN §2): the sequence state h and the context output → MLP head → user embedding u.
 * "concat" (default): u = h + MLP(concat(h, ctx)). "cross-attention": the context queries the
 * causal sequence outputs first, a = Attn(q = ctx·Wq, k = H·Wk, v = H·Wv), then
 * u = h + MLP(concat(h, ctx, a)). The residual keeps the sequence state as the backbone: with the
 * context layer off (the baseline) the head sees h alone and u = h + MLP(h).
 * Tower "dcnv2" (src/model/cross.ts): u = h + P·concat(Cross(x), relu(W₁x + b₁)) + p with x the
 * head's input, P [d0 + F, d] taking the place of the MLP's output layer.
 * Shapes: B batch, Lb length, P = B·Lb rows, d width, dc context width, F head width, d0 head input width.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Rng } from "../core/rng.ts";
import { causalMask } from "../engine/attention.ts";
import { linear } from "../engine/linear.ts";
import { glorotVariable } from "../engine/params.ts";
import type { FusionArgs, TowerArgs } from "./config.ts";
import { type CrossLayerParams, crossDeep, crossVariables, initCrossNetwork } from "./cross.ts";
import { type DenseParams, initDense, stopGradient } from "./layers.ts";

export interface FusionParams {
  args: FusionArgs;
  hidden: DenseParams;
  out: DenseParams;
  /** DCNv2 cross stack on the head input [P, d0] (tower "dcnv2"); `out` is then [d0 + F, d]. */
  dcn?: CrossLayerParams[];
  /** Cross-attention projections: wq [dc, d], wk [d, d], wv [d, d]. */
  cross?: { wq: tf.Variable<tf.Rank.R2>; wk: tf.Variable<tf.Rank.R2>; wv: tf.Variable<tf.Rank.R2> };
}

/** `contextDim` 0 = no context layer (baseline). `tower` undefined = "mlp". */
export function initFusion(
  args: FusionArgs,
  dim: number,
  contextDim: number,
  rng: Rng,
  prefix: string,
  tower?: TowerArgs,
): FusionParams {
  const cross = args.kind === "cross-attention" && contextDim > 0;
  const inDim = dim + contextDim + (cross ? dim : 0);
  const dcn = tower?.kind === "dcnv2";
  const p: FusionParams = {
    args,
    hidden: initDense(inDim, args.hidden, rng.fork(), `${prefix}fusion/hidden`),
    out: initDense(args.hidden + (dcn ? inDim : 0), dim, rng.fork(), `${prefix}fusion/out`),
  };
  if (cross) {
    p.cross = {
      wq: glorotVariable(contextDim, dim, rng.fork(), `${prefix}fusion/wq`),
      wk: glorotVariable(dim, dim, rng.fork(), `${prefix}fusion/wk`),
      wv: glorotVariable(dim, dim, rng.fork(), `${prefix}fusion/wv`),
    };
  }
  // Forked after every mlp draw, so an mlp model's initial weights are unchanged by the option.
  if (dcn) p.dcn = initCrossNetwork(tower, inDim, rng.fork(), `${prefix}fusion`);
  return p;
}

export function fusionVariables(p: FusionParams): tf.Variable[] {
  return [
    p.hidden.w,
    p.hidden.b,
    p.out.w,
    p.out.b,
    ...(p.cross ? [p.cross.wq, p.cross.wk, p.cross.wv] : []),
    ...(p.dcn ? crossVariables(p.dcn) : []),
  ];
}

/**
 * User embeddings [B·Lb, d] for every position: `h` [B, Lb, d] sequence outputs, `ctx`
 * [B·Lb, dc] context outputs (undefined = baseline). `frozenShared`: the weights that also serve
 * the no-context path (the head's rows for h, its output layer, the cross-attention keys and
 * values) take no gradient from this call, only the context rows of the head do — so a loss
 * computed through it cannot change what a request without context gets. The DCNv2 cross stack
 * mixes h with the context in every weight, so it is all shared and frozen.
 */
export function fuse(
  p: FusionParams,
  h: tf.Tensor3D,
  ctx: tf.Tensor2D | undefined,
  frozenShared = false,
): tf.Tensor2D {
  const [B, L, d] = h.shape;
  const keep = <T extends tf.Tensor>(w: T): T => (frozenShared ? stopGradient(w) : w);
  const flat = tf.reshape(h, [B * L, d]) as tf.Tensor2D;
  const parts: tf.Tensor[] = [flat];
  if (ctx !== undefined) {
    parts.push(ctx);
    if (p.cross !== undefined) {
      const q = tf.reshape(tf.matMul(ctx, p.cross.wq), [B, L, d]);
      const k = tf.reshape(tf.matMul(flat, keep(p.cross.wk)), [B, L, d]);
      const v = tf.reshape(tf.matMul(flat, keep(p.cross.wv)), [B, L, d]);
      // Position t's context may look at sequence outputs ≤ t only (no peeking at later events).
      const s = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(d)), causalMask(L));
      parts.push(tf.reshape(tf.matMul(tf.softmax(s), v), [B * L, d]));
    }
  }
  const x = parts.length === 1 ? flat : tf.concat(parts, 1);
  const w1 = frozenShared
    ? tf.concat([stopGradient(tf.slice(p.hidden.w, [0, 0], [d, -1])), tf.slice(p.hidden.w, [d, 0], [-1, -1])])
    : p.hidden.w;
  const hidden = tf.relu(linear(x, w1, keep(p.hidden.b))) as tf.Tensor2D;
  const head =
    p.dcn !== undefined
      ? crossDeep(x as tf.Tensor2D, hidden, p.dcn, p.out, keep)
      : linear(hidden, keep(p.out.w), keep(p.out.b));
  return tf.add(flat, head) as tf.Tensor2D;
}
