/**
 * The online part as an ONNX graph: context layer (src/model/contextLayer.ts, inference: no
 * dropout) + concat fusion head (src/model/fusion.ts) + optional L2 normalisation, on the cached
 * sequence state h:  u = h + W₂·relu(W₁·concat(h, ctx) + b₁) + b₂.
 * Tower "dcnv2": u = h + P·concat(Cross(x), relu(W₁x + b₁)) + p, x = concat(h, ctx) (src/model/cross.ts).
 * Baseline (no context layer): the graph takes h alone and u = h + MLP(h).
 * Cross-attention fusion reads every sequence output, not one cached state: refused; so is a
 * context layer that reads the subject item's vector (`subjectItem`: no such graph input yet).
 *
 * Inputs (B requests, k context slots, both symbolic):
 *   h            float32 [B, d]
 *   cat_ids      int32   [B, k]   category codes, 0 = empty slot        (context layer only)
 *   cat_weights  float32 [B, k]   weights summing to 1 over filled slots (context layer only)
 *   present      float32 [B, 1]   1 = the request has a context, 0 = none (context layer only)
 *   demo_<field> int32   [B]      demographic codes, 1 = missing, one per field the layer embeds
 * Output: u float32 [B, d].
 */
import { CtxrecError } from "../core/errors.ts";
import type { ContextLayerParams } from "../model/contextLayer.ts";
import type { CtxrecModel } from "../model/model.ts";
import { GraphBuilder, type ValueSpec } from "./builder.ts";
import { crossDeepOp, denseOp, l2NormalizeOp, WeightNamer, weight } from "./graphLayers.ts";

/** Input name of a demographic field. */
export const demoInputName = (field: string): string => `demo_${field}`;

/** Why the model's online part cannot be exported as one graph on a cached state; undefined = it can. */
function unservableReason(m: CtxrecModel): { message: string; field: string } | undefined {
  if (m.fusion.cross !== undefined) {
    return {
      message:
        'fusion "cross-attention" attends over every sequence output, so its online part cannot run on one cached state h; export a model trained with --fusion concat (the default)',
      field: "config.fusion.kind",
    };
  }
  if (m.context?.args.subjectItem === true) {
    return {
      message:
        "the model reads the subject item's item-tower vector as context (--subject-item), which the online graph has no input for yet; export a model trained without --subject-item",
      field: "config.context.subjectItem",
    };
  }
  return undefined;
}

/** Whether `exportOnnx` can export the model (what `ctxrec train` checks before exporting). */
export function isServable(m: CtxrecModel): boolean {
  return unservableReason(m) === undefined;
}

/** Throws CTXREC_ERR_ARG for a model whose online part cannot run on one cached state. */
export function assertServable(m: CtxrecModel): void {
  const reason = unservableReason(m);
  if (reason !== undefined) throw new CtxrecError("CTXREC_ERR_ARG", reason.message, { field: reason.field });
}

/** The graph's inputs, in feed order. */
export function onlineInputSpecs(m: CtxrecModel): ValueSpec[] {
  const d = m.config.encoder.dim;
  const specs: ValueSpec[] = [{ name: "h", dtype: "float32", shape: ["B", d] }];
  if (m.context === undefined) return specs;
  specs.push(
    { name: "cat_ids", dtype: "int32", shape: ["B", "k"] },
    { name: "cat_weights", dtype: "float32", shape: ["B", "k"] },
    { name: "present", dtype: "float32", shape: ["B", 1] },
  );
  for (const { field } of m.context.demographics)
    specs.push({ name: demoInputName(field), dtype: "int32", shape: ["B"] });
  return specs;
}

export const onlineOutputSpecs = (m: CtxrecModel): ValueSpec[] => [
  { name: "u", dtype: "float32", shape: ["B", m.config.encoder.dim] },
];

/** The category term [B, d] under the configured projection (contextLayer.ts `projectCategories`). */
function categoryTerm(g: GraphBuilder, names: WeightNamer, p: ContextLayerParams): string {
  const emb = g.op("Gather", [weight(g, names, p.categories), "cat_ids"], { axis: 0 }); // [B, k, d]
  const sumSlots = (x: string) => g.op("ReduceSum", [x, g.ints([1])], { keepdims: 0 }); // [B, k, d] → [B, d]
  const filled = () => g.op("Greater", ["cat_ids", g.int32(g.fresh("zero"), Int32Array.of(0), [])]);
  switch (p.args.projection) {
    case "sum": {
      const f = g.op("Unsqueeze", [g.op("Cast", [filled()], { to: 1 }) /* FLOAT */, g.ints([2])]); // [B, k, 1] float
      return sumSlots(g.op("Mul", [emb, f]));
    }
    case "attention": {
      // softmax over slots of (emb·q + log w); empty slots get −1e9 (as in tfjs).
      const logW = g.op("Where", [
        filled(),
        g.op("Log", [g.op("Max", ["cat_weights", g.scalar(1e-6)])]),
        g.scalar(-1e9),
      ]);
      const q = weight(g, names, p.query as NonNullable<typeof p.query>); // [d, 1]
      const s = g.op("Add", [g.op("MatMul", [emb, q]), g.op("Unsqueeze", [logW, g.ints([2])])]); // [B, k, 1]
      return sumSlots(g.op("Mul", [emb, g.op("Softmax", [s], { axis: 1 })]));
    }
    default: {
      const mean = sumSlots(g.op("Mul", [emb, g.op("Unsqueeze", ["cat_weights", g.ints([2])])]));
      return p.learned !== undefined ? g.op("Tanh", [denseOp(g, names, mean, p.learned)]) : mean;
    }
  }
}

/** Context output [B, dc] (inference). */
function contextOp(g: GraphBuilder, names: WeightNamer, p: ContextLayerParams): string {
  const cats = categoryTerm(g, names, p);
  // present·cats + (1 − present)·absent
  const term = g.op("Add", [
    g.op("Mul", [cats, "present"]),
    g.op("Mul", [g.op("Sub", [g.scalar(1), "present"]), weight(g, names, p.absent)]),
  ]);
  const parts = [term];
  for (const { field, table } of p.demographics)
    parts.push(g.op("Gather", [weight(g, names, table), demoInputName(field)], { axis: 0 }));
  const x = parts.length === 1 ? term : g.op("Concat", parts, { axis: 1 });
  return g.op("Relu", [denseOp(g, names, x, p.out)]);
}

/** The serialized online graph of `m`. */
export function buildOnlineGraph(m: CtxrecModel): Uint8Array {
  assertServable(m);
  const g = new GraphBuilder("ctxrec_online");
  const names = new WeightNamer(m.prefix);
  for (const spec of onlineInputSpecs(m)) g.input(spec);
  const parts = ["h"];
  if (m.context !== undefined) parts.push(contextOp(g, names, m.context));
  const x = parts.length === 1 ? "h" : g.op("Concat", parts, { axis: 1 });
  const hidden = g.op("Relu", [denseOp(g, names, x, m.fusion.hidden)]);
  const head =
    m.fusion.dcn !== undefined
      ? crossDeepOp(g, names, x, hidden, m.fusion.dcn, m.fusion.out)
      : denseOp(g, names, hidden, m.fusion.out);
  let u = g.op("Add", ["h", head]);
  if (m.config.itemTower.l2Normalize) u = l2NormalizeOp(g, u);
  g.output(u, onlineOutputSpecs(m)[0]);
  return g.serialize();
}
