import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../core/rng.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import { loadDataset } from "../data/load.ts";
import { tempFolder } from "../data/testFiles.ts";
import { initEngine } from "../engine/backend.ts";
import { resolveModelConfig } from "../model/config.ts";
import { itemFeaturesOf } from "../model/itemFeatures.ts";
import { createModel, disposeModel } from "../model/model.ts";
import { vocabSizesOf } from "../model/vocabSizes.ts";
import {
  advertiserCentroids,
  advertiserGroups,
  advertiserLoss,
  advertiserTargets,
  retrievalWeights,
  taskSetup,
} from "./multiTask.ts";
import { stepLoss, stepSetup } from "./step.ts";
import { prepareRows } from "./stepTesting.ts";
import { resolveTrainArgs } from "./trainArgs.ts";

beforeAll(async () => {
  await initEngine();
});

/**
 * 12 items of 3 advertisers (a0: items 1–4, a1: 5–8, a2: 9–11; item 12 has none), 30 users whose
 * events alternate "view" (engagement) and "buy" (conversion) over an advertiser's items.
 */
async function shopWorld(): Promise<CompiledDataset> {
  const tmp = tempFolder("ctxrec-multitask-");
  const items = Array.from({ length: 12 }, (_, i) => {
    const advertiser = i < 4 ? "a0" : i < 8 ? "a1" : i < 11 ? "a2" : undefined;
    return JSON.stringify({ id: `i${i + 1}`, categories: [{ id: `c${i % 3}`, confidence: 1 }], advertiser });
  });
  const rng = new Rng(3);
  const events: string[] = [];
  for (let u = 0; u < 30; u++) {
    const base = 4 * rng.int(3);
    for (let t = 0; t < 8; t++) {
      const item = `i${1 + ((base + rng.int(4)) % 12)}`;
      events.push(
        JSON.stringify({ user: `u${u}`, item, timestamp: 1000 + 10 * t, type: t % 2 === 0 ? "view" : "buy" }),
      );
    }
  }
  try {
    tmp.write("items.jsonl", `${items.join("\n")}\n`);
    tmp.write("events.jsonl", `${events.join("\n")}\n`);
    return await loadDataset({ format: "jsonl", path: tmp.dir });
  } finally {
    tmp.remove();
  }
}

describe("advertiser groups and centroids", () => {
  // Items 0 (padding) .. 6: advertiser codes 0, 3, 2, 3, 1 (none), 2, 4.
  const codes = Int32Array.from([0, 3, 2, 3, 1, 2, 4]);
  it("groups the items with an advertiser by code; the rest belong to none", () => {
    const g = advertiserGroups(codes);
    expect(Array.from(g.order)).toEqual([2, 5, 1, 3, 6]);
    expect(Array.from(g.starts)).toEqual([0, 2, 4]);
    expect(Array.from(g.ends)).toEqual([2, 4, 5]);
    expect(Array.from(g.counts)).toEqual([2, 2, 1]);
    expect(Array.from(g.groupOf)).toEqual([-1, 1, 0, 1, -1, 0, 2]);
  });
  it("centroids are the groups' means, with the gradient of the mean", () => {
    const g = advertiserGroups(codes);
    const reps = tf.tensor2d(
      Array.from({ length: 14 }, (_, i) => i * 0.5 - 2),
      [7, 2],
    );
    const c = advertiserCentroids(reps, g);
    const r = reps.arraySync();
    const mean = (rows: number[]) => [0, 1].map((k) => rows.reduce((s, i) => s + r[i][k], 0) / rows.length);
    const expected = [mean([2, 5]), mean([1, 3]), mean([6])];
    for (const [a, row] of c.arraySync().entries()) {
      for (const [k, v] of row.entries()) expect(v).toBeCloseTo(expected[a][k], 5);
    }
    // d Σ centroids / d reps: 1 / |group| for a grouped item, 0 for the others.
    const grad = tf.grad((x) => tf.sum(advertiserCentroids(x as tf.Tensor2D, g)))(reps) as tf.Tensor2D;
    expect(grad.arraySync().map((row) => row[0])).toEqual([0, 1 / 2, 1 / 2, 1 / 2, 0, 1 / 2, 1]);
    tf.dispose([reps, c]);
  });
  it("the advertiser loss is the weighted cross-entropy over advertisers, / R", () => {
    const u = tf.tensor2d([1, 0, 0, 2, 1, 1], [3, 2]);
    const cents = tf.tensor2d([1, 0, 0, 1], [2, 2]);
    const loss = advertiserLoss(u, cents, Int32Array.from([0, 1, -1]), Float32Array.from([1, 1, 0]), 1);
    const ce = (logits: number[], y: number) =>
      Math.log(logits.reduce((s, l) => s + Math.exp(l), 0)) - logits[y];
    expect(loss.dataSync()[0]).toBeCloseTo((ce([1, 0], 0) + ce([0, 2], 1)) / 3, 5);
    tf.dispose([u, cents, loss]);
  });
});

describe("multi-task set-up and targets", () => {
  it("engagement positives weigh engagementWeight, conversions 1; advertisers only for conversions", async () => {
    const ds = await shopWorld();
    const tasks = taskSetup(ds, { engagementTypes: ["view"], engagementWeight: 0.25, advertiserWeight: 1 });
    const view = ds.typeVocab.names.indexOf("view");
    const buy = ds.typeVocab.names.indexOf("buy");
    const types = Int32Array.from([view, buy, buy]);
    expect(Array.from(retrievalWeights(types, tasks) ?? [])).toEqual([0.25, 1, 1]);
    const item = (id: string) => ds.itemVocab.names.indexOf(id);
    const t = advertiserTargets(Int32Array.from([item("i1"), item("i6"), item("i12")]), types, tasks);
    const groupOf = (id: string) => tasks.advertisers?.groupOf[item(id)];
    expect(Array.from(t?.labels ?? [])).toEqual([-1, groupOf("i6"), -1]);
    expect(Array.from(t?.weights ?? [])).toEqual([0, 1, 0]);
    expect(tasks.advertisers?.starts.length).toBe(3);
  });
  it("refuses a type the data lacks (naming its types), all types as engagement, and < 2 advertisers", async () => {
    const ds = await shopWorld();
    const base = { engagementWeight: 0.5, advertiserWeight: 0 };
    expect(() => taskSetup(ds, { ...base, engagementTypes: ["click"] })).toThrow(
      /'click' is not in the data.*view, buy/,
    );
    expect(() => taskSetup(ds, { ...base, engagementTypes: ["view", "buy"] })).toThrow(
      /no conversion is left/,
    );
    const one = { ...ds, itemAdvertiser: ds.itemAdvertiser.map((a) => Math.min(a, 2)) };
    expect(() => taskSetup(one, { ...base, engagementTypes: [], advertiserWeight: 1 })).toThrow(
      /at least 2 advertisers/,
    );
    expect(() => resolveTrainArgs({ engagementWeight: -1 })).toThrow(/engagementWeight/);
    expect(() => resolveTrainArgs({ advertiserWeight: Number.NaN })).toThrow(/advertiserWeight/);
  });
});

describe("a multi-task training step", () => {
  const config = resolveModelConfig({
    encoder: { dim: 16, heads: 2, ffn: 32, maxLen: 8, dropout: 0.1 },
    context: { enabled: false },
    fusion: { hidden: 16 },
  });
  it("engagement weight 1 and no advertiser loss is the plain loss; each task changes it", async () => {
    const ds = await shopWorld();
    const m = createModel(config, vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(1));
    const lossWith = (over: Parameters<typeof resolveTrainArgs>[0]) => {
      const args = resolveTrainArgs({ loss: "full", ...over });
      const setup = stepSetup(m, ds, args);
      const s = prepareRows(setup, 10);
      const ids = m.item.ids.gatherRows(s.unique);
      const v = tf.tidy(() => stepLoss(setup, s, ids).dataSync()[0]);
      ids.dispose();
      return v;
    };
    const plain = lossWith({});
    expect(lossWith({ engagementTypes: ["view"], engagementWeight: 1 })).toBeCloseTo(plain, 5);
    expect(lossWith({ engagementTypes: ["view"], engagementWeight: 0 })).toBeLessThan(plain);
    const withAdvertisers = lossWith({ advertiserWeight: 1 });
    expect(withAdvertisers).toBeGreaterThan(plain);
    expect(Number.isFinite(withAdvertisers)).toBe(true);
    expect(() => lossWith({ advertiserWeight: 1, loss: "sampled" })).toThrow(/needs the full softmax/);
    disposeModel(m);
  });
});
