/**
 * DCNv2 cross layers (Wang et al., "DCN V2", WWW 2021), the parallel structure, as a tower option
 * (`TowerArgs`, --tower dcnv2) of the user head (fusion.ts) and the item tower (itemTower.ts):
 *   x_{l+1} = x_0 ⊙ (W_l x_l + b_l) + x_l,  l = 0 … N−1   (cross network, width d0 kept)
 *   out     = P · concat(x_N, MLP(x_0)) + p               (projection back to the tower's width)
 * W_l is full rank [d0, d0] (crossRank 0) or low rank W_l = U_l V_lᵀ with U_l, V_l [d0, r]: ONE
 * expert; the paper's mixture of low-rank experts (gating over several U V pairs) is not built.
 * Rows are vectors here, so W_l x_l is written x_l · w_l with w_l = W_lᵀ (the same family).
 * Shapes: n rows, d0 input width, r rank, F deep (MLP) width, d output width.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Rng } from "../core/rng.ts";
import { glorotVariable } from "../engine/params.ts";
import type { TowerArgs } from "./config.ts";
import { type DenseParams, dense, initDense } from "./layers.ts";

/**
 * One cross layer's variables: `dense` w [d0, d0] and b [d0] at full rank; at rank r, `down` = V
 * [d0, r] and `dense` = (Uᵀ [r, d0], b [d0]), so x·W + b = (x·V)·Uᵀ + b.
 */
export interface CrossLayerParams {
  down?: tf.Variable<tf.Rank.R2>;
  dense: DenseParams;
}

/** Seeded cross stack of `args.crossLayers` layers on width d0 (every layer draws from its own fork). */
export function initCrossNetwork(args: TowerArgs, d0: number, rng: Rng, name: string): CrossLayerParams[] {
  return Array.from({ length: args.crossLayers }, (_, l) => {
    const r = args.crossRank;
    const lr = rng.fork();
    const down = r > 0 ? glorotVariable(d0, r, lr.fork(), `${name}/cross${l}/v`) : undefined;
    return { down, dense: initDense(r > 0 ? r : d0, d0, lr.fork(), `${name}/cross${l}`) };
  });
}

/** Variables of a cross stack, in layer order. */
export function crossVariables(layers: CrossLayerParams[]): tf.Variable[] {
  return layers.flatMap((p) => [...(p.down ? [p.down] : []), p.dense.w, p.dense.b]);
}

/** Weights as the caller wants them used (e.g. `stopGradient` for frozen shared weights). */
export type WeightView = <T extends tf.Tensor>(w: T) => T;
const asIs: WeightView = (w) => w;

/** One cross layer: x0, xl [n, d0] → x0 ⊙ (xl·W + b) + xl [n, d0]. */
export function crossLayer(
  x0: tf.Tensor2D,
  xl: tf.Tensor2D,
  p: CrossLayerParams,
  view: WeightView = asIs,
): tf.Tensor2D {
  const z = p.down !== undefined ? tf.matMul(xl, view(p.down)) : xl; // [n, r] or [n, d0]
  const wx = dense(z, { w: view(p.dense.w), b: view(p.dense.b) }) as tf.Tensor2D; // [n, d0]
  return tf.add(tf.mul(x0, wx), xl) as tf.Tensor2D;
}

/** The cross stack x0 [n, d0] → x_N [n, d0]. */
export function crossNetwork(
  x0: tf.Tensor2D,
  layers: CrossLayerParams[],
  view: WeightView = asIs,
): tf.Tensor2D {
  return layers.reduce((xl, p) => crossLayer(x0, xl, p, view), x0);
}

/**
 * The parallel DCNv2 combination: cross stack on x0 [n, d0] beside the deep branch's output
 * `deep` [n, F], concatenated [n, d0 + F] and projected by `out` (w [d0 + F, d], b [d]) → [n, d].
 */
export function crossDeep(
  x0: tf.Tensor2D,
  deep: tf.Tensor2D,
  layers: CrossLayerParams[],
  out: DenseParams,
  view: WeightView = asIs,
): tf.Tensor2D {
  const both = tf.concat([crossNetwork(x0, layers, view), deep], 1);
  return dense(both, { w: view(out.w), b: view(out.b) }) as tf.Tensor2D;
}

/** Parameters of the cross stack alone (d0 input width): N·(d0² + d0) at full rank, N·(2·d0·r + d0) at rank r. */
export function crossParamCount(args: TowerArgs, d0: number): number {
  const perLayer = args.crossRank > 0 ? 2 * d0 * args.crossRank + d0 : d0 * d0 + d0;
  return args.crossLayers * perLayer;
}
