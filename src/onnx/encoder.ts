/**
 * The sequence encoder (src/model/encoder.ts + the causal block of src/model/layers.ts, inference)
 * as an ONNX graph that returns the cached state: the final-layer-norm output at each row's last
 * real position (slot 0 for an empty history, as src/model/scorer.ts reads it).
 *
 * What is baked in: the item tower's output table [N, d] (inference) is an initializer the graph
 * gathers from. The tower is per item and has no dropout at inference, so gathering precomputed
 * rows is the same math, and it spares every encode call the tower's category gathers and MLP over
 * B·L slots. The caller passes the table (export.ts computes it with the exported item-tower graph,
 * so the history reps are exactly the vectors the ANN index holds).
 *
 * Same math as tfjs, laid out for ORT: heads are split as [B, L, 3, H, dh] → [3, B, H, L, dh]
 * (the Q | K | V column blocks of the fused projection, each H heads of dh, as `splitHeads`);
 * the causal mask is the same additive −1e9 matrix, sliced to the batch's Lb. Positions past a
 * row's last event never influence it (causal), so the LAST block computes its query, feed-forward
 * and final layer norm for the one position that is returned, not all Lb: row-independent ops, same
 * values, about half the work of a 2-block encoder.
 *
 * Inputs (B rows, Lb ≤ L padded length, both symbolic):
 *   items   int32 [B, Lb] item codes, 0 = padding (right-padded rows)
 *   types   int32 [B, Lb] event-type codes (only when the model has a type embedding)
 *   gaps    int32 [B, Lb] time-gap buckets (only when the model has a gap embedding)
 *   lengths int32 [B]     real events per row (0 = empty history)
 * Output: h float32 [B, d].
 */
import { assertLength } from "../core/shapes.ts";
import type { CtxrecModel } from "../model/model.ts";
import { GraphBuilder, type ValueSpec } from "./builder.ts";
import { layerNormOp, WeightNamer, weight } from "./graphLayers.ts";

export function encoderInputSpecs(m: CtxrecModel): ValueSpec[] {
  const specs: ValueSpec[] = [{ name: "items", dtype: "int32", shape: ["B", "Lb"] }];
  if (m.encoder.types !== undefined) specs.push({ name: "types", dtype: "int32", shape: ["B", "Lb"] });
  if (m.encoder.gaps !== undefined) specs.push({ name: "gaps", dtype: "int32", shape: ["B", "Lb"] });
  specs.push({ name: "lengths", dtype: "int32", shape: ["B"] });
  return specs;
}

export const encoderOutputSpecs = (m: CtxrecModel): ValueSpec[] => [
  { name: "h", dtype: "float32", shape: ["B", m.config.encoder.dim] },
];

/** Additive causal mask [L, L]: 0 where key ≤ query, −1e9 above the diagonal (engine `causalMask`). */
function causalMaskValues(L: number): Float32Array {
  const m = new Float32Array(L * L);
  for (let i = 0; i < L; i++) for (let j = i + 1; j < L; j++) m[i * L + j] = -1e9;
  return m;
}

export interface EncoderGraphOptions {
  /**
   * Compute the last block for the returned position only (default true: same values, less work).
   * false = every block over every position, as a plain implementation does (bench/encode.ts
   * compares both against PyTorch).
   */
  lastPositionOnly?: boolean;
}

/** The serialized encoder graph of `m`, gathering history items from `itemTable` [N, d] (the item tower's output). */
export function buildEncoderGraph(
  m: CtxrecModel,
  itemTable: Float32Array,
  opts: EncoderGraphOptions = {},
): Uint8Array {
  const lastOnly = opts.lastPositionOnly ?? true;
  const p = m.encoder;
  const { dim: d, heads: H, maxLen: L } = p.args;
  const dh = d / H;
  const names = new WeightNamer(m.prefix);
  const g = new GraphBuilder("ctxrec_encoder");
  const w = (v: Parameters<typeof weight>[2]) => weight(g, names, v);
  for (const spec of encoderInputSpecs(m)) g.input(spec);

  // Lb as a [1] and a scalar int64; mask [B, Lb, 1] = (t < length).
  const lb1 = g.op("Slice", [g.op("Shape", ["items"]), g.ints([1]), g.ints([2])]); // [1]
  const lb = g.op("Squeeze", [lb1, g.ints([0])]); // scalar
  const t = g.op("Range", [g.int64(g.fresh("zero"), [0], []), lb, g.int64(g.fresh("one"), [1], [])]);
  const len64 = g.op("Cast", ["lengths"], { to: 7 }); // to: 7 = INT64 (TensorProto.DataType)
  const valid = g.op("Less", [t, g.op("Unsqueeze", [len64, g.ints([1])])]); // [B, Lb]
  const mask = g.op("Unsqueeze", [g.op("Cast", [valid], { to: 1 }) /* FLOAT */, g.ints([2])]); // [B, Lb, 1]

  // x = (√d·item + type + gap)·mask + positions[:Lb], then ·mask again (encoder.ts).
  const N = m.item.ids.rows;
  assertLength(itemTable, N * d, "buildEncoderGraph itemTable [N, d]");
  const table = g.float("encoder/itemTable", itemTable, [N, d]);
  let x = g.op("Mul", [g.op("Gather", [table, "items"], { axis: 0 }), g.scalar(Math.sqrt(d))]);
  if (p.types !== undefined) x = g.op("Add", [x, g.op("Gather", [w(p.types), "types"], { axis: 0 })]);
  if (p.gaps !== undefined) x = g.op("Add", [x, g.op("Gather", [w(p.gaps), "gaps"], { axis: 0 })]);
  // Positions (encoder.ts `positionTerms`): "start" rows [0, Lb) broadcast over rows; "end"
  // min(L − length + t, L − 1) per slot, so a row's latest event takes L − 1.
  const pos =
    p.args.positions === "start"
      ? g.op("Slice", [w(p.positions), g.ints([0]), lb1, g.ints([0])]) // [Lb, d]
      : g.op(
          "Gather",
          [
            w(p.positions),
            g.op("Min", [
              g.op("Add", [g.op("Unsqueeze", [g.op("Sub", [g.ints([L]), len64]), g.ints([1])]), t]),
              g.ints([L - 1]),
            ]),
          ],
          { axis: 0 },
        ); // [B, Lb, d]
  let h = g.op("Mul", [g.op("Add", [g.op("Mul", [x, mask]), pos]), mask]); // [B, Lb, d]

  const causal = g.float("encoder/causalMask", causalMaskValues(L), [L, L]);
  const lbLb = g.op("Concat", [lb1, lb1], { axis: 0 });
  const maskLL = g.op("Slice", [causal, g.ints([0, 0]), lbLb, g.ints([0, 1])]); // [Lb, Lb]
  // Index of the returned position per row: max(length − 1, 0), [B, 1] for GatherND.
  const last = g.op("Unsqueeze", [
    g.op("Max", [g.op("Sub", [len64, g.ints([1])]), g.ints([0])]),
    g.ints([1]),
  ]);
  const lastIdx = g.op("Squeeze", [last, g.ints([1])]); // [B]
  const scale = g.scalar(1 / Math.sqrt(dh));

  const heads = (qkv: string) => {
    const r = g.op("Reshape", [qkv, g.ints([0, 0, 3, H, dh])]); // [B, Lb, 3, H, dh]
    return g.op("Transpose", [r], { perm: [2, 0, 3, 1, 4] }); // [3, B, H, Lb, dh]
  };
  const part = (t3: string, i: number) => g.op("Gather", [t3, g.int64(g.fresh("idx"), [i], [])], { axis: 0 });
  const ffn = (y: string, blk: (typeof p.blocks)[number]) => {
    const hidden = g.op("Relu", [g.op("Add", [g.op("MatMul", [y, w(blk.w1)]), w(blk.b1)])]);
    return g.op("Add", [g.op("MatMul", [hidden, w(blk.w2)]), w(blk.b2)]);
  };

  // Block layouts (src/model/layers.ts `causalBlock`): "pre-norm" residual x, queries, keys and
  // values from LN₁x, then y + FFN(LN₂y); "sasrec" residual q = LN₁x, queries from q, keys and
  // values from x, then z = LN₂y, z + FFN(z).
  const sasrec = p.args.block === "sasrec";
  const feedForwardResidual = (y: string, blk: (typeof p.blocks)[number]) => {
    const z = layerNormOp(g, y, w(blk.ln2Gamma), w(blk.ln2Beta));
    return g.op("Add", [sasrec ? z : y, ffn(z, blk)]);
  };

  p.blocks.forEach((blk, i) => {
    const a = blk.attention;
    const normed = layerNormOp(g, h, w(blk.ln1Gamma), w(blk.ln1Beta));
    const wQkv = w(a.wQkv);
    const bQkv = w(a.bQkv);
    const project = (x: string) => g.op("Add", [g.op("MatMul", [x, wQkv]), bQkv]);
    const qkv = project(sasrec ? h : normed); // keys and values (and queries in pre-norm)
    const qSource = sasrec ? project(normed) : qkv; // its Q columns are the queries
    const residual = sasrec ? normed : h;
    const t3 = heads(qkv);
    const k = part(t3, 1);
    const v = part(t3, 2); // [B, H, Lb, dh]
    const kT = g.op("Transpose", [k], { perm: [0, 1, 3, 2] }); // [B, H, dh, Lb]
    if (i < p.blocks.length - 1 || !lastOnly) {
      // Every position: scores [B, H, Lb, Lb].
      const q = sasrec ? part(heads(qSource), 0) : part(t3, 0);
      const s = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, kT]), scale]), maskLL]);
      const ctx = g.op("MatMul", [g.op("Softmax", [s], { axis: -1 }), v]); // [B, H, Lb, dh]
      const merged = g.op("Reshape", [g.op("Transpose", [ctx], { perm: [0, 2, 1, 3] }), g.ints([0, 0, d])]);
      const y = g.op("Add", [residual, g.op("Add", [g.op("MatMul", [merged, w(a.wOut)]), w(a.bOut)])]);
      h = feedForwardResidual(y, blk);
      return;
    }
    // Last block: only the returned position's query; its causal row masks keys past it.
    const qLast = g.op("GatherND", [g.op("Slice", [qSource, g.ints([0]), g.ints([d]), g.ints([2])]), last], {
      batch_dims: 1,
    }); // [B, d]
    const q = g.op("Unsqueeze", [g.op("Reshape", [qLast, g.ints([0, H, dh])]), g.ints([2])]); // [B, H, 1, dh]
    const rowMask = g.op("Gather", [g.op("Slice", [causal, g.ints([0]), lb1, g.ints([1])]), lastIdx], {
      axis: 0,
    }); // [B, Lb]
    const s = g.op("Add", [
      g.op("Mul", [g.op("MatMul", [q, kT]), scale]),
      g.op("Unsqueeze", [rowMask, g.ints([1, 2])]),
    ]); // [B, H, 1, Lb]
    const ctx = g.op("MatMul", [g.op("Softmax", [s], { axis: -1 }), v]); // [B, H, 1, dh]
    const merged = g.op("Reshape", [ctx, g.ints([0, d])]); // [B, d] (H·1·dh in head order, as mergeHeads)
    const residualLast = g.op("GatherND", [residual, last], { batch_dims: 1 }); // [B, d]
    const y = g.op("Add", [residualLast, g.op("Add", [g.op("MatMul", [merged, w(a.wOut)]), w(a.bOut)])]);
    h = feedForwardResidual(y, blk);
  });
  if (!lastOnly) h = g.op("GatherND", [h, last], { batch_dims: 1 }); // [B, d]
  const out = layerNormOp(g, h, w(p.lnGamma), w(p.lnBeta));
  g.output(out, encoderOutputSpecs(m)[0]);
  return g.serialize();
}
