/**
 * The item tower (src/model/itemTower.ts) as an ONNX graph, computed from its parts, not a baked
 * table: id embedding + Σ_k w_k·category_emb_k (the item's categories padded to Kc slots with
 * confidences normalised per item, as `paddedCategories` lays them out) + optional residual MLP +
 * optional L2 normalisation; tower "dcnv2": x + P·concat(Cross(x), relu(W x + b)) + p instead of
 * the residual MLP (src/model/cross.ts). The id table and the padded category lists are initializers.
 *
 * Input:  items int32 [U] item codes (0 = padding row).
 * Output: v float32 [U, d].
 */
import { paddedCategories } from "../model/itemFeatures.ts";
import type { CtxrecModel } from "../model/model.ts";
import { GraphBuilder, type ValueSpec } from "./builder.ts";
import { crossDeepOp, denseOp, l2NormalizeOp, WeightNamer, weight } from "./graphLayers.ts";

export const itemTowerInputSpecs = (): ValueSpec[] => [{ name: "items", dtype: "int32", shape: ["U"] }];
export const itemTowerOutputSpecs = (m: CtxrecModel): ValueSpec[] => [
  { name: "v", dtype: "float32", shape: ["U", m.config.encoder.dim] },
];

/** Adds the tower to `g` on the int32 item codes `items` [...]; returns its output [..., d]. */
export function itemTowerOp(g: GraphBuilder, m: CtxrecModel, items: string): string {
  const names = new WeightNamer(m.prefix);
  const p = m.item;
  const N = p.ids.rows;
  const d = p.ids.dim;
  let x = g.op("Gather", [g.float("item/ids", p.ids.values, [N, d]), items], { axis: 0 }); // [U, d]
  if (p.categories !== undefined) {
    const all = Int32Array.from({ length: N }, (_, i) => i);
    const { k, ids, weights } = paddedCategories(m.features, all);
    const catIds = g.op("Gather", [g.int32("item/catIds", ids, [N, k]), items], { axis: 0 }); // [U, Kc]
    const w = g.op("Gather", [g.float("item/catWeights", weights, [N, k]), items], { axis: 0 }); // [U, Kc]
    const emb = g.op("Gather", [weight(g, names, p.categories), catIds], { axis: 0 }); // [U, Kc, d]
    const term = g.op("ReduceSum", [g.op("Mul", [emb, g.op("Unsqueeze", [w, g.ints([-1])])]), g.ints([-2])], {
      keepdims: 0,
    });
    x = g.op("Add", [x, term]);
  }
  if (p.mlp !== undefined) {
    const deep = g.op("Relu", [denseOp(g, names, x, p.mlp)]);
    x = g.op("Add", [
      x,
      p.dcn !== undefined ? crossDeepOp(g, names, x, deep, p.dcn.layers, p.dcn.out) : deep,
    ]);
  }
  return p.args.l2Normalize ? l2NormalizeOp(g, x) : x;
}

/** The serialized item-tower graph of `m`. */
export function buildItemTowerGraph(m: CtxrecModel): Uint8Array {
  const g = new GraphBuilder("ctxrec_item_tower");
  const [input] = itemTowerInputSpecs();
  g.output(itemTowerOp(g, m, g.input(input)), itemTowerOutputSpecs(m)[0]);
  return g.serialize();
}
