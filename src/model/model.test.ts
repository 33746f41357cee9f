import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../core/rng.ts";
import { initEngine } from "../engine/backend.ts";
import { buildHistoryBatch } from "../eval/history.ts";
import { looTargets } from "../eval/loo.ts";
import { type ModelConfigOverrides, resolveModelConfig } from "./config.ts";
import { contextLayer } from "./contextLayer.ts";
import { encodeSequence } from "./encoder.ts";
import { fuse, fusionVariables, initFusion } from "./fusion.ts";
import { itemFeaturesOf } from "./itemFeatures.ts";
import { stopGradient } from "./layers.ts";
import { type CtxrecModel, createModel, disposeModel, itemReps, userStates } from "./model.ts";
import { RowDropout, rowKeys } from "./rowDropout.ts";
import { embedHistories, noContext } from "./scorer.ts";
import { sequenceBatch } from "./sequences.ts";
import { toyWorld } from "./testWorld.ts";
import { vocabSizesOf } from "./vocabSizes.ts";

beforeAll(async () => {
  await initEngine();
});

const small: ModelConfigOverrides = {
  encoder: { dim: 8, heads: 2, ffn: 16, maxLen: 6 },
  context: { dim: 8 },
  fusion: { hidden: 8 },
};

async function toyModel(
  over: ModelConfigOverrides = small,
  seed = 1,
): Promise<{ m: CtxrecModel; ds: Awaited<ReturnType<typeof toyWorld>> }> {
  const ds = await toyWorld();
  const m = createModel(resolveModelConfig(over), vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(seed));
  return { m, ds };
}

/** Hidden states [B, Lb, d] of rows of item codes (inference). */
function hidden(m: CtxrecModel, rows: number[][]): Float32Array {
  const items = Int32Array.from(rows.flat());
  const B = rows.length;
  const L = rows[0].length;
  const ev = {
    items,
    types: new Int32Array(items.length).fill(1),
    timestamps: Float64Array.from(items, (_, i) => i),
  };
  const starts = Int32Array.from({ length: B }, (_, b) => b * L);
  const seq = sequenceBatch(
    ev,
    starts,
    Int32Array.from(starts, (s) => s + L),
    starts,
    m.config.encoder.maxLen,
  );
  return tf.tidy(() => {
    const reps = itemReps(m, seq.items, m.item.ids.gatherRows(seq.items));
    const local = Int32Array.from({ length: seq.items.length }, (_, i) => i);
    return encodeSequence(
      m.encoder,
      seq,
      tf.gather(reps, tf.tensor1d(local, "int32")) as tf.Tensor2D,
      undefined,
    ).dataSync() as Float32Array;
  });
}

describe("model shapes", () => {
  it("item tower, encoder, context layer and fusion give the documented shapes", async () => {
    const { m, ds } = await toyModel();
    const items = Int32Array.from([1, 2, 3, 0, 5, 6]);
    const ev = { items, types: new Int32Array(6).fill(1), timestamps: Float64Array.from([0, 1, 2, 0, 1, 2]) };
    // Rows of 3 and 2 events → right-padded to Lb = 3.
    const seq = sequenceBatch(
      ev,
      Int32Array.from([0, 4]),
      Int32Array.from([3, 6]),
      Int32Array.from([0, 4]),
      6,
    );
    expect([seq.B, seq.len]).toEqual([2, 3]);
    expect(Array.from(seq.mask)).toEqual([1, 1, 1, 1, 1, 0]);
    tf.tidy(() => {
      const reps = itemReps(m, seq.items, m.item.ids.gatherRows(seq.items));
      expect(reps.shape).toEqual([6, 8]); // [U, d]
      const local = Int32Array.from({ length: 6 }, (_, i) => i);
      const h = encodeSequence(
        m.encoder,
        seq,
        tf.gather(reps, tf.tensor1d(local, "int32")) as tf.Tensor2D,
        undefined,
      );
      expect(h.shape).toEqual([2, 3, 8]); // [B, Lb, d]
      const demographics = {
        age: new Int32Array(6).fill(1),
        country: new Int32Array(6).fill(1),
        gender: new Int32Array(6).fill(1),
        occupation: new Int32Array(6).fill(1),
      };
      if (m.context === undefined) throw new Error("the default model has a context layer");
      const c = contextLayer(m.context, noContext(6), demographics, undefined);
      expect(c.shape).toEqual([6, 8]); // [P, dc]
      const u = userStates(m, seq, reps, local, { input: noContext(6), demographics }, undefined);
      expect(u.shape).toEqual([6, 8]); // [B·Lb, d]
      expect(Array.from(u.dataSync()).every(Number.isFinite)).toBe(true);
    });
    expect(ds.itemVocab.size).toBe(21);
    disposeModel(m);
  });

  it("the baseline is the same model without a context layer", async () => {
    const { m } = await toyModel({ ...small, context: { ...small.context, enabled: false } });
    expect(m.context).toBeUndefined();
    disposeModel(m);
  });
});

describe("causal masking", () => {
  it("changing a later event never changes an earlier hidden state", async () => {
    const { m } = await toyModel();
    const d = 8;
    const a = hidden(m, [[1, 2, 3, 4, 5]]);
    const b = hidden(m, [[1, 2, 3, 17, 9]]); // positions 3 and 4 differ
    for (let t = 0; t < 3; t++) {
      expect(Array.from(b.subarray(t * d, (t + 1) * d))).toEqual(Array.from(a.subarray(t * d, (t + 1) * d)));
    }
    // …and the changed positions do differ (the check above is not vacuous).
    expect(Array.from(b.subarray(3 * d, 4 * d))).not.toEqual(Array.from(a.subarray(3 * d, 4 * d)));
    disposeModel(m);
  });
});

describe("encoder block layouts and embedding inits", () => {
  it("the SASRec block keeps the causal mask", async () => {
    const { m } = await toyModel({ ...small, encoder: { ...small.encoder, block: "sasrec" } });
    const d = 8;
    const a = hidden(m, [[1, 2, 3, 4, 5]]);
    const b = hidden(m, [[1, 2, 3, 17, 9]]);
    expect(Array.from(b.subarray(0, 3 * d))).toEqual(Array.from(a.subarray(0, 3 * d)));
    expect(Array.from(b.subarray(3 * d, 4 * d))).not.toEqual(Array.from(a.subarray(3 * d, 4 * d)));
    disposeModel(m);
  });

  it("xavier draws the id table with std √(2/(rows + d)), scaled with std 1/√d", async () => {
    for (const init of ["scaled", "xavier"] as const) {
      const { m, ds } = await toyModel({ ...small, encoder: { ...small.encoder, init } });
      const rows = ds.itemVocab.size;
      const ids = Int32Array.from({ length: rows }, (_, i) => i);
      const values = tf.tidy(() => m.item.ids.gatherRows(ids).dataSync() as Float32Array);
      const std = Math.sqrt(values.reduce((s, v) => s + v * v, 0) / values.length);
      const expected = init === "xavier" ? Math.sqrt(2 / (rows + 8)) : 1 / Math.sqrt(8);
      expect(std).toBeGreaterThan(0.7 * expected);
      expect(std).toBeLessThan(1.3 * expected);
      disposeModel(m);
    }
  });

  it("an unknown block layout or init names the field", () => {
    expect(() => resolveModelConfig({ encoder: { block: "post-norm" as never } })).toThrow(/encoder\.block/);
    expect(() => resolveModelConfig({ encoder: { init: "he" as never } })).toThrow(/encoder\.init/);
  });
});

describe("evaluation never sees the test event or a pseudo-context", () => {
  it("user embeddings of the loo test batch do not depend on the test target", async () => {
    const { m, ds } = await toyModel();
    const { users, positions } = looTargets(ds, "test");
    const before = buildHistoryBatch(ds, users, positions);
    expect(before.context).toBeUndefined(); // loo batches carry no context at all
    const a = embedHistories(m, before);
    // The same data set with every test target replaced by another item.
    const items = Int32Array.from(ds.items);
    for (const p of positions) items[p] = 1 + (items[p] % (ds.itemVocab.size - 1));
    const b = embedHistories(m, buildHistoryBatch({ ...ds, items }, users, positions));
    expect(Array.from(b)).toEqual(Array.from(a));
    disposeModel(m);
  });

  it("the scorer uses the no-context path (present = 0), never the target's categories", async () => {
    const { m, ds } = await toyModel();
    const { users, positions } = looTargets(ds, "test");
    const batch = buildHistoryBatch(ds, users.subarray(0, 4), positions.subarray(0, 4));
    const viaScorer = embedHistories(m, batch);
    // Recompute with an explicit all-absent context: identical.
    const firsts = batch.historyOffsets.subarray(0, 4);
    const ends = batch.historyOffsets.subarray(1);
    const starts = Int32Array.from(ends, (e, b) => Math.max(firsts[b], e - 6)); // the last L = 6 events
    const seq = sequenceBatch(batch, starts, ends, firsts, 6);
    expect(seq.len).toBeLessThanOrEqual(6);
    const P = seq.B * seq.len;
    const demographics: Record<string, Int32Array> = {};
    for (const [f, c] of Object.entries(batch.demographics))
      demographics[f] = Int32Array.from({ length: P }, (_, j) => c[Math.floor(j / seq.len)]);
    const direct = tf.tidy(() => {
      const reps = itemReps(m, seq.items, m.item.ids.gatherRows(seq.items));
      const local = Int32Array.from({ length: P }, (_, i) => i);
      const u = userStates(m, seq, reps, local, { input: noContext(P), demographics }, undefined);
      const last = Int32Array.from(seq.lengths, (n, b) => b * seq.len + n - 1);
      return tf.gather(u, tf.tensor1d(last, "int32")).dataSync() as Float32Array;
    });
    for (let i = 0; i < direct.length; i++) expect(viaScorer[i]).toBeCloseTo(direct[i], 5);
    disposeModel(m);
  });
});

describe("context projections and fusions", () => {
  it.each([
    ["mean", "concat"],
    ["sum", "concat"],
    ["attention", "concat"],
    ["learned", "concat"],
    ["mean", "cross-attention"],
  ] as const)("projection %s with fusion %s gives finite [B·Lb, d] user states", async (projection, kind) => {
    const { m } = await toyModel({
      ...small,
      context: { ...small.context, projection },
      fusion: { ...small.fusion, kind },
    });
    const items = Int32Array.from([1, 2, 3, 4, 5, 6]);
    const ev = { items, types: new Int32Array(6).fill(1), timestamps: Float64Array.from([0, 1, 2, 3, 4, 5]) };
    const seq = sequenceBatch(
      ev,
      Int32Array.from([0, 3]),
      Int32Array.from([3, 6]),
      Int32Array.from([0, 3]),
      6,
    );
    // A real context: slot weights sum to 1 over filled slots; row 5 has none.
    const input = {
      k: 2,
      catIds: Int32Array.from([1, 2, 3, 0, 2, 0, 4, 1, 1, 0, 0, 0]),
      weights: Float32Array.from([0.5, 0.5, 1, 0, 1, 0, 0.75, 0.25, 1, 0, 0, 0]),
      present: Uint8Array.from([1, 1, 1, 1, 1, 0]),
    };
    const demographics = {
      age: new Int32Array(6).fill(1),
      country: new Int32Array(6).fill(1),
      gender: new Int32Array(6).fill(1),
      occupation: new Int32Array(6).fill(1),
    };
    const u = tf.tidy(() => {
      const reps = itemReps(m, seq.items, m.item.ids.gatherRows(seq.items));
      const local = Int32Array.from({ length: 6 }, (_, i) => i);
      const out = userStates(
        m,
        seq,
        reps,
        local,
        { input, demographics },
        new RowDropout(rowKeys(1, 0, [0, 1]), m.config.encoder.maxLen),
      );
      expect(out.shape).toEqual([6, 8]);
      return out.dataSync() as Float32Array;
    });
    expect(Array.from(u).every(Number.isFinite)).toBe(true);
    disposeModel(m);
  });
});

describe("stopGradient", () => {
  it("passes the value and blocks the gradient to its input only", () => {
    const x = tf.tensor1d([1, 2, 3]);
    const f = (t: tf.Tensor) => tf.sum(tf.add(tf.mul(stopGradient(t), t), t)) as tf.Scalar;
    // value: Σ x² + x = 14 + 6 = 20; gradient: d/dx [c·x + x] with c = x held constant = x + 1.
    expect(f(x).dataSync()[0]).toBeCloseTo(20, 5);
    expect(Array.from(tf.grad(f)(x).dataSync())).toEqual([2, 3, 4]);
  });
});

describe("fuse with frozen shared weights", () => {
  it("trains only the head's context rows; the no-context path's weights get no gradient", () => {
    const rng = new Rng(3);
    const p = initFusion({ kind: "concat", hidden: 4 }, 3, 2, rng, "frozen-test/");
    const h = tf.tensor3d([1, 2, 3, -1, 0, 2], [1, 2, 3]);
    const ctx = tf.tensor2d([0.5, -1, 2, 1], [2, 2]);
    const grads = (frozen: boolean) =>
      tf.variableGrads(() => tf.sum(tf.square(fuse(p, h, ctx, frozen))) as tf.Scalar, fusionVariables(p))
        .grads;
    const free = grads(false);
    const frozen = grads(true);
    const rows = (g: tf.Tensor, from: number, to: number) => Array.from(g.dataSync().slice(from * 4, to * 4));
    // hidden.w is [d + dc, F] = [5, 4]: rows 0..2 serve h (shared), rows 3..4 the context.
    expect(rows(frozen[p.hidden.w.name], 0, 3).every((v) => v === 0)).toBe(true);
    expect(rows(frozen[p.hidden.w.name], 3, 5)).toEqual(rows(free[p.hidden.w.name], 3, 5));
    expect(rows(frozen[p.hidden.w.name], 3, 5).some((v) => v !== 0)).toBe(true);
    for (const v of [p.hidden.b, p.out.w, p.out.b]) {
      expect(Array.from(frozen[v.name].dataSync()).every((x) => x === 0)).toBe(true);
    }
    // The forward value is the same either way.
    expect(Array.from(fuse(p, h, ctx, true).dataSync())).toEqual(
      Array.from(fuse(p, h, ctx, false).dataSync()),
    );
    for (const v of fusionVariables(p)) v.dispose();
  });

  it("tower dcnv2: the cross stack and the projection are shared (no gradient), the context rows still train", () => {
    const p = initFusion({ kind: "concat", hidden: 4 }, 3, 2, new Rng(4), "frozen-dcn-test/", {
      kind: "dcnv2",
      crossLayers: 2,
      crossRank: 0,
    });
    const h = tf.tensor3d([1, 2, 3, -1, 0, 2], [1, 2, 3]);
    const ctx = tf.tensor2d([0.5, -1, 2, 1], [2, 2]);
    const loss = (frozen: boolean) => () => tf.sum(tf.square(fuse(p, h, ctx, frozen))) as tf.Scalar;
    const free = tf.variableGrads(loss(false), fusionVariables(p)).grads;
    const { grads } = tf.variableGrads(loss(true), fusionVariables(p));
    for (const l of p.dcn ?? []) {
      expect(Array.from(free[l.dense.w.name].dataSync()).some((x) => x !== 0)).toBe(true);
      expect(Array.from(grads[l.dense.w.name].dataSync()).every((x) => x === 0)).toBe(true);
    }
    expect(p.out.w.shape).toEqual([5 + 4, 3]); // [d0 + F, d]
    expect(Array.from(grads[p.out.w.name].dataSync()).every((x) => x === 0)).toBe(true);
    expect(Array.from(grads[p.hidden.w.name].dataSync().slice(3 * 4)).some((x) => x !== 0)).toBe(true);
    for (const v of fusionVariables(p)) v.dispose();
  });
});
