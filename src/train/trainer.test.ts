import { beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../core/rng.ts";
import { leaveOneOut } from "../data/splits.ts";
import { initEngine } from "../engine/backend.ts";
import { checkSteps } from "../engine/leakGuard.ts";
import { createPopularityScorer } from "../eval/baselines.ts";
import { evaluateLoo } from "../eval/loo.ts";
import { type ModelConfigOverrides, resolveModelConfig } from "../model/config.ts";
import { itemFeaturesOf } from "../model/itemFeatures.ts";
import { createModel, disposeModel, modelVariables } from "../model/model.ts";
import { createModelScorer } from "../model/scorer.ts";
import { toyWorld } from "../model/testWorld.ts";
import { vocabSizesOf } from "../model/vocabSizes.ts";
import { lengthBucketedBatches, trainingRows } from "./examples.ts";
import { resolveTrainArgs } from "./trainArgs.ts";
import { createStepper, train } from "./trainer.ts";

beforeAll(async () => {
  await initEngine();
});

const small: ModelConfigOverrides = {
  encoder: { dim: 16, heads: 2, ffn: 32, maxLen: 8, dropout: 0.1 },
  context: { dim: 16, dropout: 0.3 },
  fusion: { hidden: 16 },
};

describe("training examples", () => {
  it("one row per user: the last L+1 train events; positives = every event after the first", async () => {
    const ds = await toyWorld({ users: 5, length: 8 });
    const rows = trainingRows(ds, leaveOneOut(ds.offsets), 4);
    // 8 events − 2 held out = 6 train events, cut to the last L + 1 = 5 → 4 positives per user.
    expect(rows.users.length).toBe(5);
    expect(Array.from(rows.ends.map((e, r) => e - rows.starts[r]))).toEqual([5, 5, 5, 5, 5]);
    expect(rows.positives).toBe(20);
    const batches = lengthBucketedBatches(rows, 2, new Rng(1));
    expect(batches.map((b) => b.length).sort()).toEqual([1, 2, 2]);
  });

  it('windows "all": every train event after the first is a positive once; a short history is one row', async () => {
    const ds = await toyWorld({ users: 4, length: 13 });
    const split = leaveOneOut(ds.offsets);
    const rows = trainingRows(ds, split, 4, "all");
    // 13 − 2 held out = 11 train events in windows of L + 1 = 5 from the end: [6,11), [2,7), [0,3).
    const spans = (u: number) =>
      Array.from(rows.users.keys())
        .filter((r) => rows.users[r] === u)
        .map((r) => [rows.starts[r] - ds.offsets[u], rows.ends[r] - ds.offsets[u]]);
    expect(spans(1)).toEqual([
      [6, 11],
      [2, 7],
      [0, 3],
    ]);
    expect(rows.users.length).toBe(12);
    expect(rows.positives).toBe(4 * 10);
    const positives = new Map<number, number>();
    for (let r = 0; r < rows.users.length; r++) {
      expect(rows.firsts[r]).toBe(ds.offsets[rows.users[r]]);
      for (let e = rows.starts[r] + 1; e < rows.ends[r]; e++) positives.set(e, (positives.get(e) ?? 0) + 1);
    }
    expect([...positives.values()].every((n) => n === 1)).toBe(true);
    expect(positives.size).toBe(40);
    const short = trainingRows(ds, split, 20, "all");
    const last = trainingRows(ds, split, 20, "last");
    expect(Array.from(short.starts)).toEqual(Array.from(last.starts));
    expect(Array.from(short.ends)).toEqual(Array.from(last.ends));
    expect(() => trainingRows(ds, split, 4, "every" as "all")).toThrow(/windows/);
  });
});

describe("trainer", () => {
  it("same seed ⇒ same weights; another seed ⇒ other weights", async () => {
    const ds = await toyWorld({ users: 30 });
    const cfg = resolveModelConfig(small);
    const run = async (seed: number) => {
      const r = await train(
        ds,
        cfg,
        resolveTrainArgs({ seed, epochs: 2, batchSize: 8, uniformNegatives: 8 }),
        {
          skipValidation: true,
        },
      );
      const w = [
        ...modelVariables(r.model).map((v) => Array.from(v.dataSync())),
        Array.from(r.model.item.ids.values),
      ].flat();
      disposeModel(r.model);
      return w;
    };
    const a = await run(5);
    expect(await run(5)).toEqual(a);
    expect(await run(6)).not.toEqual(a);
  });

  it.each(["full", "sampled"] as const)(
    "lowers the loss and beats popularity on a toy sequence task (context on, baseline too; %s softmax)",
    async (loss) => {
      const ds = await toyWorld({ users: 80, items: 20, length: 10 });
      const pop = await evaluateLoo(ds, createPopularityScorer(ds));
      for (const enabled of [true, false]) {
        const cfg = resolveModelConfig({ ...small, context: { ...small.context, enabled } });
        const losses: number[] = [];
        const r = await train(
          ds,
          cfg,
          resolveTrainArgs({
            seed: 1,
            epochs: 12,
            batchSize: 16,
            learningRate: 5e-3,
            loss,
            uniformNegatives: 16,
            evalEvery: 4,
            patience: 10,
          }),
          { onProgress: (p) => p.batch === p.batches && losses.push(p.loss) },
        );
        const res = await evaluateLoo(ds, createModelScorer(r.model, "toy"));
        // Every next item is determined by the current one: a sequence model gets most of them right,
        // popularity (all items equally popular) ranks the target ≈ at random among 20 items (HIT@5 ≈ 0.25).
        expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
        expect(res.metrics["hit@5"]).toBeGreaterThan(pop.metrics["hit@5"] + 0.2);
        expect(res.metrics["ndcg@10"]).toBeGreaterThan(pop.metrics["ndcg@10"]);
        disposeModel(r.model);
      }
    },
  );

  it("decays the learning rate on a validation plateau, on one thread and on two alike", async () => {
    const ds = await toyWorld({ users: 40, items: 20, length: 10 });
    const cfg = resolveModelConfig(small);
    const run = async (threads: number) => {
      const args = resolveTrainArgs({
        seed: 3,
        epochs: 8,
        batchSize: 16,
        learningRate: 2e-2,
        loss: "full",
        lrDecay: 0.5,
        lrPatience: 1,
        patience: 20,
        threads,
      });
      const r = await train(ds, cfg, args);
      const weights = Array.from(r.model.item.ids.values);
      disposeModel(r.model);
      return { history: r.history, weights, base: args.learningRate };
    };
    const one = await run(1);
    // Replays the rule: each epoch trains with the rate left by the evaluations before it.
    let best = -1;
    let rate = one.base;
    for (const p of one.history) {
      expect(p.learningRate).toBeCloseTo(rate, 12);
      if (p.ndcg10 > best) best = p.ndcg10;
      else rate = Math.max(rate / 2, one.base / 16);
    }
    expect(one.history.some((p) => p.learningRate < one.base)).toBe(true);
    const two = await run(2);
    expect(two.history.map((p) => p.learningRate)).toEqual(one.history.map((p) => p.learningRate));
    const drift = Math.max(...two.weights.map((w, i) => Math.abs(w - one.weights[i])));
    expect(drift).toBeLessThan(1e-4);
  });

  it("the contextless loss trains the no-context path on every example (whole-context dropout 0)", async () => {
    const ds = await toyWorld({ users: 40 });
    // With whole-context dropout 0 every slot with categories has present = 1, so the learned
    // "absent" vector only gets a gradient from the second (no-context) loss.
    const absentAfterSteps = (noContextWeight: number) => {
      const m = createModel(resolveModelConfig(small), vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(2));
      const absent = m.context?.absent;
      if (absent === undefined) throw new Error("the contextual model has a context layer");
      const before = Array.from(absent.dataSync());
      const stepper = createStepper(
        m,
        ds,
        resolveTrainArgs({
          batchSize: 8,
          uniformNegatives: 8,
          noContextWeight,
          pseudoContext: { wholeContextDropout: 0 },
        }),
      );
      for (const b of lengthBucketedBatches(stepper.rows, 8, new Rng(3)).slice(0, 3)) stepper.step(b);
      const moved = Array.from(absent.dataSync()).some((v, i) => v !== before[i]);
      stepper.dispose();
      disposeModel(m);
      return moved;
    };
    expect(absentAfterSteps(0)).toBe(false);
    expect(absentAfterSteps(1)).toBe(true);
  });

  it.each(["full", "sampled"] as const)(
    "leaves no tensors behind over many steps (%s softmax)",
    async (loss) => {
      const ds = await toyWorld({ users: 40 });
      const m = createModel(resolveModelConfig(small), vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(2));
      const stepper = createStepper(m, ds, resolveTrainArgs({ batchSize: 8, uniformNegatives: 8, loss }));
      expect(stepper.lossMode).toBe(loss);
      const batches = lengthBucketedBatches(stepper.rows, 8, new Rng(3));
      const report = checkSteps((i) => stepper.step(batches[i % batches.length]), { steps: 25, warmup: 3 });
      expect(report.after.numTensors).toBe(report.afterWarmup.numTensors);
      stepper.dispose();
      disposeModel(m);
    },
  );
});

describe("train arguments", () => {
  it("checks the context-loss scope", () => {
    // @ts-expect-error: a bad value from an untyped caller
    expect(() => resolveTrainArgs({ contextLossScope: "encoder" })).toThrow(/contextLossScope/);
    expect(resolveTrainArgs({ contextLossScope: "all" }).contextLossScope).toBe("all");
  });

  it("takes a learning-rate decay in (0, 1] and a patience ≥ 1, naming the field otherwise", () => {
    expect(resolveTrainArgs({}).lrDecay).toBe(1);
    for (const bad of [0, 1.5, Number.NaN])
      expect(() => resolveTrainArgs({ lrDecay: bad })).toThrow(/lrDecay/);
    expect(() => resolveTrainArgs({ lrPatience: 0 })).toThrow(/lrPatience/);
  });

  it("takes Adam's beta2 in (0, 1) and names the field otherwise", () => {
    expect(resolveTrainArgs({}).adamBeta2).toBe(0.999);
    expect(resolveTrainArgs({ adamBeta2: 0.98 }).adamBeta2).toBe(0.98);
    for (const bad of [0, 1, -0.5, Number.NaN]) {
      expect(() => resolveTrainArgs({ adamBeta2: bad })).toThrow(/adamBeta2/);
    }
  });
});
