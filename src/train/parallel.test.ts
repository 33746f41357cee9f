import { beforeAll, describe, expect, it } from "vitest";
import { CtxrecError } from "../core/errors.ts";
import { deriveSeed, Rng } from "../core/rng.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import { initEngine } from "../engine/backend.ts";
import { type ModelConfigOverrides, resolveModelConfig } from "../model/config.ts";
import { itemFeaturesOf } from "../model/itemFeatures.ts";
import { createModel, denseWeights, disposeModel, modelVariables } from "../model/model.ts";
import { toyWorld } from "../model/testWorld.ts";
import { vocabSizesOf } from "../model/vocabSizes.ts";
import type { TrainingRows } from "./examples.ts";
import { shardByPositions } from "./parallelReplica.ts";
import { startParallelStepper } from "./parallelStepper.ts";
import { resolveTrainArgs, type TrainArgsOverrides } from "./trainArgs.ts";
import { train } from "./trainer.ts";

beforeAll(async () => {
  await initEngine();
});

/** Training rows with the given numbers of positions (row r: events 0..p_r). */
function rowsOf(positions: number[]): TrainingRows {
  return {
    users: Int32Array.from(positions, (_, r) => r + 1),
    starts: new Int32Array(positions.length),
    ends: Int32Array.from(positions, (p) => p + 1),
    firsts: new Int32Array(positions.length),
    positives: positions.reduce((s, p) => s + p, 0),
  };
}

describe("sharding a batch by real positions", () => {
  it("cuts contiguous slices of about equal positions (hand-computed)", () => {
    // Positions in batch order [1, 1, 2, 4]: cumulative 0 1 2 4 8, total 8. Worker 1 of 2 starts
    // at the first k with cum[k] ≥ 4: k = 3. Slices [0, 3) with 4 positions and [3, 4) with 4.
    const rows = rowsOf([4, 2, 1, 1]);
    const batch = Int32Array.from([2, 3, 1, 0]);
    const a = shardByPositions(rows, batch, 0, 2);
    const b = shardByPositions(rows, batch, 1, 2);
    expect(Array.from(a.rows)).toEqual([2, 3, 1]);
    expect(Array.from(b.rows)).toEqual([0]);
    expect([a.positions, b.positions, a.total]).toEqual([4, 4, 8]);
  });

  it("keeps one row per worker, and gives none to workers beyond a short batch", () => {
    // Positions [1, 10]: the half-way cut (5.5) would leave worker 1 empty; it is clamped to 1.
    const rows = rowsOf([1, 10]);
    const two = Int32Array.from([0, 1]);
    expect(Array.from(shardByPositions(rows, two, 0, 2).rows)).toEqual([0]);
    expect(Array.from(shardByPositions(rows, two, 1, 2).rows)).toEqual([1]);
    const one = Int32Array.from([1]);
    expect(shardByPositions(rows, one, 0, 2).positions).toBe(10);
    expect(shardByPositions(rows, one, 1, 2).rows.length).toBe(0);
    // Over 3 workers the slices still cover the batch exactly once.
    const rows5 = rowsOf([3, 1, 4, 1, 5]);
    const batch5 = Int32Array.from([0, 1, 2, 3, 4]);
    const parts = [0, 1, 2].map((w) => Array.from(shardByPositions(rows5, batch5, w, 3).rows));
    expect(parts.flat()).toEqual([0, 1, 2, 3, 4]);
    expect(parts.every((p) => p.length >= 1)).toBe(true);
  });

  it("names the bad row", () => {
    expect(() => shardByPositions(rowsOf([1]), Int32Array.from([3]), 0, 2)).toThrow(/row 3 at position 0/);
  });
});

const small: ModelConfigOverrides = {
  encoder: { dim: 16, heads: 2, ffn: 32, maxLen: 8, dropout: 0.1 },
  context: { dim: 16, dropout: 0.3 },
  fusion: { hidden: 16 },
};

/** A trained model's weights (dense variables by name without the instance prefix, then the id table) and its losses. */
async function trainWeights(
  ds: CompiledDataset,
  cfg: ModelConfigOverrides,
  over: TrainArgsOverrides,
  skipValidation = true,
): Promise<{ dense: Map<string, Float32Array>; table: Float32Array; losses: number[]; validated: number }> {
  const losses: number[] = [];
  const r = await train(ds, resolveModelConfig(cfg), resolveTrainArgs(over), {
    skipValidation,
    onProgress: (p) => losses.push(p.loss),
  });
  const values = denseWeights(r.model);
  const dense = new Map(
    modelVariables(r.model).map((v, i) => [v.name.slice(r.model.prefix.length), values[i]] as const),
  );
  const table = Float32Array.from(r.model.item.ids.values);
  disposeModel(r.model);
  return { dense, table, losses, validated: r.history.length };
}

/** Largest |a − b| over two equally long arrays, skipping indices where `skip` is true. */
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, skip = (_: number) => false): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) if (!skip(i)) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe("data-parallel training of the ctxrec model", () => {
  it("--threads 2 gives one thread's weights, with dropout and pseudo-context (full softmax)", async () => {
    // 29 users in batches of 7: the last batch has ONE row, so worker 1 sits that step out.
    // Dropout masks and pseudo-context are keyed by row (model/rowDropout.ts), so each worker
    // draws for its rows exactly what one thread draws for them.
    const ds = await toyWorld({ users: 29 });
    const cfg = small;
    const over: TrainArgsOverrides = { seed: 3, epochs: 2, batchSize: 7, learningRate: 1e-2, loss: "full" };
    const one = await trainWeights(ds, cfg, { ...over, threads: 1 });
    const two = await trainWeights(ds, cfg, { ...over, threads: 2 });
    expect(two.losses.length).toBe(10);
    for (let i = 0; i < one.losses.length; i++) expect(two.losses[i]).toBeCloseTo(one.losses[i], 4);
    // Float32 sums in another order (half batches, then averaged): the table agrees to ~1e-7.
    expect(maxAbsDiff(one.table, two.table)).toBeLessThan(1e-6);
    const d = 16;
    for (const [name, w1] of one.dense) {
      const w2 = two.dense.get(name) ?? new Float32Array(0);
      // Except the attention's key bias b_k [d..2d) of bQkv: it adds q·b_k to every score of a
      // query, which the softmax cancels, so its exact gradient is 0 and Adam turns the float
      // noise of either run into steps of up to lr (1e-3 apart after 10 steps; harmless, as the
      // outputs do not depend on it).
      const keyBias = name.endsWith("attn/bQkv") ? (i: number) => i >= d && i < 2 * d : undefined;
      expect(maxAbsDiff(w1, w2, keyBias), name).toBeLessThan(1e-5);
    }
    // …while training moved the weights far more than that (10 Adam steps of lr 1e-2: up to 0.1).
    const init = createModel(
      resolveModelConfig(cfg),
      vocabSizesOf(ds),
      itemFeaturesOf(ds),
      new Rng(deriveSeed(3, "init")),
    );
    expect(maxAbsDiff(init.item.ids.values, one.table)).toBeGreaterThan(1e-2);
    disposeModel(init);
  });

  it("same seed and thread count ⇒ same model, with dropout, context, sampled loss and validation", async () => {
    const ds = await toyWorld({ users: 30 });
    const over: TrainArgsOverrides = {
      epochs: 2,
      batchSize: 8,
      uniformNegatives: 8,
      loss: "sampled",
      threads: 2,
    };
    const a = await trainWeights(ds, small, { ...over, seed: 5 }, false);
    const b = await trainWeights(ds, small, { ...over, seed: 5 }, false);
    expect(a.validated).toBe(2);
    expect(b.table).toEqual(a.table);
    expect(b.dense).toEqual(a.dense);
    const c = await trainWeights(ds, small, { ...over, seed: 6 }, false);
    expect(c.table).not.toEqual(a.table);
  });

  it("a failing worker surfaces as a CtxrecError with its reason, and the workers close", async () => {
    const ds = await toyWorld({ users: 12 });
    const m = createModel(resolveModelConfig(small), vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(1));
    const stepper = await startParallelStepper(m, ds, resolveTrainArgs({ threads: 2 }));
    try {
      const err = await stepper.step(Int32Array.from([0, 999])).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CtxrecError);
      expect((err as Error).message).toMatch(/data-parallel worker failed: .*row 999 at position 1/);
    } finally {
      await stepper.dispose();
      disposeModel(m);
    }
  });
});
