/**
 * The model's layers written as ONNX subgraphs, each the same math as its tfjs counterpart:
 * weights from tfjs variables, dense (`src/engine/linear.ts`), layer norm (`src/engine/blocks.ts`,
 * ε = 1e-5), row-wise L2 normalisation (`src/model/layers.ts`, ε = 1e-12 inside the root).
 * Shapes: n rows, d width.
 */
import type * as tf from "@tensorflow/tfjs-core";
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
