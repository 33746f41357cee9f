/**
 * ONNX Runtime vs tfjs (the reference, src/model, inference mode) on tiny random models of several
 * configurations (DCNv2 towers among them): the encoder (rows of different lengths, an empty history, a batch of only empty
 * histories), the online tower (random h, every projection, demographics on/off, baseline, L2),
 * the composition encoder → online against `userStates`, and the item tower. Tolerance 1e-5 max
 * abs diff (float32 sums in another order differ by a few 1e-7 at d = 8).
 */
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CtxrecError } from "../core/errors.ts";
import { Rng } from "../core/rng.ts";
import { initEngine } from "../engine/backend.ts";
import type { ModelConfigOverrides, VocabSizes } from "../model/config.ts";
import type { ContextInput } from "../model/contextLayer.ts";
import { contextLayer } from "../model/contextLayer.ts";
import { encodeSequence } from "../model/encoder.ts";
import { fuse } from "../model/fusion.ts";
import { allItemEmbeddings, itemTower } from "../model/itemTower.ts";
import { l2Normalize } from "../model/layers.ts";
import { type CtxrecModel, disposeModel, itemReps, userStates } from "../model/model.ts";
import { buildEncoderGraph } from "./encoder.ts";
import { buildOnnxExport } from "./export.ts";
import { type EncoderInput, type OnnxModelHandle, openOnnxGraphs } from "./runtime.ts";
import { randomContext, randomDemographics, randomHistories, randomModel } from "./testModels.ts";

const TOL = 1e-5;

beforeAll(async () => {
  await initEngine();
});

function maxAbsDiff(a: Float32Array, b: Float32Array | ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** The encoder's input as src/model reads it (a len-0 batch is one padding slot, as sequenceBatch pads). */
function asSequence(x: EncoderInput) {
  const len = Math.max(1, x.len);
  const fix = (a: Int32Array) => (x.len === 0 ? new Int32Array(x.B) : a);
  const mask = new Float32Array(x.B * len);
  x.lengths.forEach((n, b) => {
    mask.fill(1, b * len, b * len + n);
  });
  return {
    B: x.B,
    len,
    items: fix(x.items),
    types: fix(x.types),
    gaps: fix(x.gaps),
    mask,
    lengths: x.lengths,
  };
}

/** Slot of each row's returned state: its last real event, slot 0 when empty. */
const lastSlots = (seq: { len: number; lengths: Int32Array }) =>
  Int32Array.from(seq.lengths, (n, b) => b * seq.len + Math.max(0, n - 1));

/** tfjs: encodeSequence over the item tower's reps, read at the last slots → [B, d]. */
function tfjsEncode(m: CtxrecModel, x: EncoderInput): Float32Array {
  const seq = asSequence(x);
  const d = m.config.encoder.dim;
  return tf.tidy(() => {
    const reps = itemReps(m, seq.items, m.item.ids.gatherRows(seq.items));
    const h = tf.reshape(encodeSequence(m.encoder, seq, reps, undefined), [-1, d]);
    return tf.gather(h, tf.tensor1d(lastSlots(seq), "int32")).dataSync() as Float32Array;
  });
}

/** tfjs: context layer + fusion (+ L2) on given states h [B, d]. */
function tfjsOnline(m: CtxrecModel, h: Float32Array, ctx: ContextInput, demo: Record<string, Int32Array>) {
  const B = ctx.present.length;
  return tf.tidy(() => {
    const c = m.context ? contextLayer(m.context, ctx, demo, undefined) : undefined;
    const u = fuse(m.fusion, tf.tensor3d(h, [B, 1, m.config.encoder.dim]), c);
    return (m.config.itemTower.l2Normalize ? l2Normalize(u) : u).dataSync() as Float32Array;
  });
}

/** tfjs: the whole user side (`userStates`) with each row's context on all its slots, last slots → [B, d]. */
function tfjsUserStates(
  m: CtxrecModel,
  x: EncoderInput,
  ctx: ContextInput,
  demo: Record<string, Int32Array>,
) {
  const seq = asSequence(x);
  const P = x.B * seq.len;
  const row = (i: number) => Math.floor(i / seq.len);
  const { k } = ctx;
  const slotCtx: ContextInput = {
    k,
    catIds: Int32Array.from({ length: P * k }, (_, i) => ctx.catIds[row(Math.floor(i / k)) * k + (i % k)]),
    weights: Float32Array.from(
      { length: P * k },
      (_, i) => ctx.weights[row(Math.floor(i / k)) * k + (i % k)],
    ),
    present: Uint8Array.from({ length: P }, (_, i) => ctx.present[row(i)]),
  };
  const slotDemo = Object.fromEntries(
    Object.entries(demo).map(([f, codes]) => [f, Int32Array.from({ length: P }, (_, i) => codes[row(i)])]),
  );
  return tf.tidy(() => {
    const reps = itemReps(m, seq.items, m.item.ids.gatherRows(seq.items));
    const local = Int32Array.from({ length: P }, (_, i) => i);
    const u = userStates(m, seq, reps, local, { input: slotCtx, demographics: slotDemo }, undefined);
    return tf.gather(u, tf.tensor1d(lastSlots(seq), "int32")).dataSync() as Float32Array;
  });
}

const tiny = (over: ModelConfigOverrides = {}): ModelConfigOverrides => ({
  ...over,
  encoder: { dim: 8, heads: 2, ffn: 16, maxLen: 6, blocks: 2, ...over.encoder },
  context: { dim: 8, demographicDim: 3, ...over.context },
  fusion: { hidden: 12, ...over.fusion },
});

const CASES: { name: string; config: ModelConfigOverrides; sizes?: Partial<VocabSizes> }[] = [
  { name: "defaults (mean, demographics, types, gaps)", config: tiny() },
  {
    name: "sum, L2, item MLP, 4 heads, 3 blocks",
    config: tiny({
      context: { projection: "sum" },
      itemTower: { l2Normalize: true, mlp: true },
      encoder: { heads: 4, blocks: 3 },
    }),
  },
  {
    name: "attention, no demographics, no type/gap tables, 1 block",
    config: tiny({ context: { projection: "attention", demographics: false }, encoder: { blocks: 1 } }),
    sizes: { types: 2, hasTimeGaps: false },
  },
  {
    name: "learned projection, no item categories, context width ≠ d",
    config: tiny({ context: { projection: "learned", dim: 5 }, itemTower: { categories: false } }),
  },
  { name: "baseline (no context layer)", config: tiny({ context: { enabled: false } }) },
  {
    name: "DCNv2 towers, full rank, 2 cross layers",
    config: tiny({ tower: { kind: "dcnv2" } }),
  },
  {
    name: "DCNv2 towers, rank 3, 3 cross layers, L2, baseline",
    config: tiny({
      tower: { kind: "dcnv2", crossLayers: 3, crossRank: 3 },
      itemTower: { l2Normalize: true },
      context: { enabled: false },
    }),
  },
  {
    name: "SASRec block layout, Xavier tables, 3 blocks",
    config: tiny({ encoder: { block: "sasrec", init: "xavier", blocks: 3 } }),
  },
  {
    name: "end-anchored positions, baseline",
    config: tiny({ encoder: { positions: "end" }, context: { enabled: false } }),
  },
  { name: "end-anchored positions, contextual", config: tiny({ encoder: { positions: "end" } }) },
];

describe.each(CASES)("ONNX parity: $name", ({ config, sizes }) => {
  let m: CtxrecModel;
  let onnx: OnnxModelHandle;
  beforeAll(async () => {
    m = randomModel({ config, sizes, seed: 11 });
    const { graphs, manifest } = await buildOnnxExport(m, "test-version");
    onnx = await openOnnxGraphs(graphs, manifest, manifest.modelVersion);
  });
  afterAll(async () => {
    await onnx.close();
    disposeModel(m);
  });

  it("encoder: rows of different lengths (full L, short, one event, empty) match encodeSequence", async () => {
    for (const seed of [1, 2, 3]) {
      const x = randomHistories(m, [6, 3, 0, 1, 5], new Rng(seed));
      const h = await onnx.encoder.encode(x);
      expect(h.length).toBe(5 * 8);
      expect(maxAbsDiff(h, tfjsEncode(m, x))).toBeLessThan(TOL);
    }
  });

  it("encoder: a batch of only empty histories (len 0) gives the empty-history state of encodeSequence", async () => {
    const x = randomHistories(m, [0, 0], new Rng(4));
    expect(x.len).toBe(0);
    const h = await onnx.encoder.encode(x);
    expect(maxAbsDiff(h, tfjsEncode(m, x))).toBeLessThan(TOL);
    // Both rows are the same state (nothing distinguishes two empty histories).
    expect(Array.from(h.subarray(0, 8))).toEqual(Array.from(h.subarray(8, 16)));
  });

  it("online tower on random h matches context layer + fusion", async () => {
    for (const seed of [5, 6]) {
      const rng = new Rng(seed);
      const B = 7;
      const h = Float32Array.from({ length: B * 8 }, () => rng.normal());
      const context = randomContext(B, 4, m.sizes.categories, rng);
      const demographics = randomDemographics(m, B, rng);
      const u = await onnx.online.embed({ B, h, context, demographics });
      expect(maxAbsDiff(u, tfjsOnline(m, h, context, demographics))).toBeLessThan(TOL);
    }
  });

  it("encoder → online tower equals userStates at each row's last event", async () => {
    const rng = new Rng(9);
    const x = randomHistories(m, [4, 6, 0, 2], rng);
    const context = randomContext(x.B, 3, m.sizes.categories, rng);
    const demographics = randomDemographics(m, x.B, rng);
    const h = await onnx.encoder.encode(x);
    const u = await onnx.online.embed({ B: x.B, h, context, demographics });
    expect(maxAbsDiff(u, tfjsUserStates(m, x, context, demographics))).toBeLessThan(TOL);
  });

  it("item tower: embed and embedAll match the tfjs item tower", async () => {
    const all = await onnx.itemTower.embedAll();
    expect(maxAbsDiff(all, allItemEmbeddings(m.item, m.features))).toBeLessThan(TOL);
    const items = Int32Array.from([3, 0, 49, 3]);
    const some = await onnx.itemTower.embed(items);
    const ref = tf.tidy(() => itemTower(m.item, m.features, items, m.item.ids.gatherRows(items)).dataSync());
    expect(maxAbsDiff(some, ref)).toBeLessThan(TOL);
  });
});

describe.each([
  ["pre-norm", "start"],
  ["sasrec", "start"],
  ["pre-norm", "end"],
] as const)(
  "ONNX encoder without the last-position shortcut (the bench's plain variant), %s blocks, %s positions",
  (block, positions) => {
    it("every block over every position gives the same states", async () => {
      const m = randomModel({ config: tiny({ encoder: { block, positions } }), seed: 4 });
      const { graphs, manifest } = await buildOnnxExport(m, "v");
      const table = allItemEmbeddings(m.item, m.features);
      const full = { ...graphs, encoder: buildEncoderGraph(m, table, { lastPositionOnly: false }) };
      const onnx = await openOnnxGraphs(full, manifest, "v");
      try {
        const x = randomHistories(m, [6, 2, 0, 5], new Rng(8));
        expect(maxAbsDiff(await onnx.encoder.encode(x), tfjsEncode(m, x))).toBeLessThan(TOL);
      } finally {
        await onnx.close();
        disposeModel(m);
      }
    });
  },
);

describe("ONNX export refusals", () => {
  it("a cross-attention model is refused with CTXREC_ERR_ARG naming config.fusion.kind", async () => {
    const m = randomModel({ config: tiny({ fusion: { kind: "cross-attention" } }) });
    try {
      await expect(buildOnnxExport(m, "v")).rejects.toThrowError(/config\.fusion\.kind.*cross-attention/);
      await expect(buildOnnxExport(m, "v")).rejects.toThrowError(CtxrecError);
    } finally {
      disposeModel(m);
    }
  });

  it("a cross-attention BASELINE has no cross projections and exports (concat head on h alone)", async () => {
    const m = randomModel({
      config: tiny({ fusion: { kind: "cross-attention" }, context: { enabled: false } }),
    });
    const { graphs, manifest } = await buildOnnxExport(m, "v");
    const onnx = await openOnnxGraphs(graphs, manifest, "v");
    try {
      const h = Float32Array.from({ length: 16 }, (_, i) => i / 16 - 0.5);
      const u = await onnx.online.embed({
        B: 2,
        h,
        context: randomContext(2, 1, 12, new Rng(1)),
        demographics: {},
      });
      expect(maxAbsDiff(u, tfjsOnline(m, h, randomContext(2, 1, 12, new Rng(1)), {}))).toBeLessThan(TOL);
    } finally {
      await onnx.close();
      disposeModel(m);
    }
  });
});
