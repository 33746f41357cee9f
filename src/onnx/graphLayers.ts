/**
 * The model's layers written as ONNX subgraphs, each the same math as its tfjs counterpart:
 * weights from tfjs variables, dense (`src/engine/linear.ts`), layer norm (`src/engine/blocks.ts`,
 * ε = 1e-5), row-wise L2 normalisation (`src/model/layers.ts`, ε = 1e-12 inside the root).
 * Shapes: n rows, d width.
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { CrossLayerParams } from "../model/cross.ts";
import type { DenseParams } from "../model/layers.ts";
import type { GraphBuilder } from "./builder.ts";

/** Epsilon of `layerNorm` in src/engine/blocks.ts (its default, which the model uses). */
export const LAYER_NORM_EPS = 1e-5;

/** Names initializers after the tfjs variables with the per-instance prefix stripped. */
export class WeightNamer {
  constructor(private readonly prefix: string) {}
  name(v: tf.Variable): string {
    return v.name.startsWith(this.prefix) ? v.name.slice(this.prefix.length) : v.name;
  }
}

/** A tfjs variable as a float32 initializer of the same shape. */
export function weight(g: GraphBuilder, names: WeightNamer, v: tf.Variable): string {
  return g.float(names.name(v), v.dataSync() as Float32Array, v.shape);
}

/** x [..., in] · w [in, out] + b [out] → [..., out] (MatMul broadcasts the leading axes). */
export function denseOp(g: GraphBuilder, names: WeightNamer, x: string, p: DenseParams): string {
  return g.op("Add", [g.op("MatMul", [x, weight(g, names, p.w)]), weight(g, names, p.b)]);
}

/** Layer normalisation over the last axis, x [..., d] → [..., d]. */
export function layerNormOp(g: GraphBuilder, x: string, gamma: string, beta: string): string {
  return g.op("LayerNormalization", [x, gamma, beta], { axis: -1, epsilon: { float: LAYER_NORM_EPS } });
}

/** x [n, d] → x / √(Σ x² + 1e-12) per row. */
export function l2NormalizeOp(g: GraphBuilder, x: string): string {
  const ss = g.op("ReduceSum", [g.op("Mul", [x, x]), g.ints([1])], { keepdims: 1 });
  return g.op("Div", [x, g.op("Sqrt", [g.op("Add", [ss, g.scalar(1e-12)])])]);
}

/**
 * DCNv2 parallel head (src/model/cross.ts `crossDeep`): x0 [n, d0], deep [n, F] →
 * out·concat(x_N, deep) [n, d] with x_{l+1} = x0 ⊙ (x_l·W_l + b_l) + x_l (W_l = V_l·U_lᵀ at low rank).
 */
export function crossDeepOp(
  g: GraphBuilder,
  names: WeightNamer,
  x0: string,
  deep: string,
  layers: CrossLayerParams[],
  out: DenseParams,
): string {
  const xN = layers.reduce((xl, p) => {
    const z = p.down !== undefined ? g.op("MatMul", [xl, weight(g, names, p.down)]) : xl;
    return g.op("Add", [g.op("Mul", [x0, denseOp(g, names, z, p.dense)]), xl]);
  }, x0);
  return denseOp(g, names, g.op("Concat", [xN, deep], { axis: 1 }), out);
}
