import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { needsData } from "../../test/sharedData.ts";
import { CtxrecError } from "../core/errors.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import { loadDataset } from "../data/load.ts";
import { rankLoo } from "./loo.ts";
import { pairedGain } from "./pairedGain.ts";
import type { DirectScorer, HistoryBatch } from "./scorer.ts";
import {
  defaultStaleSettings,
  evaluateStaleContext,
  formatStaleTable,
  hasRealTimestamps,
  rankStaleContext,
  staleSelection,
  subjectContext,
} from "./staleContext.ts";
import { formatDuration } from "./staleResult.ts";
import { timedDataset } from "./staleTestData.ts";
import { datasetFromSequences } from "./testData.ts";

const H = 3600;
const codes = (ds: CompiledDataset, users: string[]) => users.map((u) => ds.userVocab.get(u));

describe("which users a setting scores", () => {
  it("drop-last n: the state misses the last n events before the target (S3-Rec positions)", async () => {
    const ds = await datasetFromSequences({
      u1: ["a", "b", "c", "d", "e"], // positions 0..4
      u2: ["c", "a", "f"], // 5..7
      u3: ["b", "e"], // 8..9: < 3 events, never a candidate
      u4: ["g", "a", "b", "a", "h"], // 10..14
    });
    expect(hasRealTimestamps(ds)).toBe(false);
    expect(defaultStaleSettings(ds)).toEqual([1, 2, 4].map((events) => ({ kind: "drop-last", events })));
    // n = 1: cut = target − 1; states u1 a b c (3), u2 c (1), u4 g a b (3); context = position target − 1
    const one = staleSelection(ds, { kind: "drop-last", events: 1 });
    expect(Array.from(one.users)).toEqual(codes(ds, ["u1", "u2", "u4"]));
    expect(Array.from(one.targets)).toEqual([4, 7, 14]);
    expect(Array.from(one.cuts)).toEqual([3, 6, 13]);
    expect(one).toMatchObject({
      candidates: 3,
      contextInState: 0,
      emptyState: 0,
      contextWithoutCategories: 3,
    });
    expect(one.meanStateEvents).toBeCloseTo(7 / 3, 12); // (3 + 1 + 3) / 3
    expect(one.meanUnseenEvents).toBe(1);
    // n = 2: u2's state would be empty (cut 5 = its first position); u1 a b, u4 g a
    const two = staleSelection(ds, { kind: "drop-last", events: 2 });
    expect(Array.from(two.users)).toEqual(codes(ds, ["u1", "u4"]));
    expect(Array.from(two.cuts)).toEqual([2, 12]);
    expect(two).toMatchObject({ emptyState: 1, meanStateEvents: 2, meanUnseenEvents: 2 });
    // n = 4: every state is empty
    const four = staleSelection(ds, { kind: "drop-last", events: 4 });
    expect(four.users.length).toBe(0);
    expect(four.emptyState).toBe(3);
    // Validation targets (the second-to-last event): u1 3, u4 13; u2's state (before 5) is empty.
    const valid = staleSelection(ds, { kind: "drop-last", events: 1 }, "validation");
    expect(Array.from(valid.users)).toEqual(codes(ds, ["u1", "u4"]));
    expect(Array.from(valid.targets)).toEqual([3, 13]);
    expect(Array.from(valid.cuts)).toEqual([2, 12]);
    expect(valid.emptyState).toBe(1);
  });

  it("cutoff Δ: the state is the events with timestamp < target time − Δ (real timestamps)", async () => {
    const ds = await timedDataset({
      u1: [
        ["i1", 0],
        ["i2", 10],
        ["i3", 40],
        ["i4", 47],
        ["i5", 48],
      ], // positions 0..4
      u2: [
        ["i1", 0],
        ["i2", 1],
        ["i6", 100],
      ], // 5..7
      u3: [
        ["i3", 50],
        ["i4", 60],
        ["i5", 70],
      ], // 8..10
      u4: [
        ["i1", 0],
        ["i2", 5],
      ], // 2 events: not a candidate
    });
    expect(hasRealTimestamps(ds)).toBe(true);
    expect(defaultStaleSettings(ds)).toEqual([{ kind: "cutoff", seconds: 86_400 }]);
    // Δ = 24 h. u1: cut-off hour 24 → state i1 i2 (cut 2), context i4 (hour 47) is after it: scored.
    // u2: cut-off hour 76 → state i1 i2 = everything before the target: the context i2 is in the state.
    // u3: cut-off hour 46 → no event before it: empty state.
    const day = staleSelection(ds, { kind: "cutoff", seconds: 24 * H });
    expect(Array.from(day.users)).toEqual(codes(ds, ["u1"]));
    expect(Array.from(day.cuts)).toEqual([2]);
    expect(day).toMatchObject({
      candidates: 3,
      contextInState: 1,
      emptyState: 1,
      meanStateEvents: 2,
      meanUnseenEvents: 2,
    });
    // Δ = 1 h. u1: cut-off hour 47 → i4 at exactly hour 47 is NOT in the state (strictly before), so it
    // is still news: state i1 i2 i3 (cut 3 = the context position). u2 (cut-off 99) and u3 (69): context in state.
    const hour = staleSelection(ds, { kind: "cutoff", seconds: H });
    expect(Array.from(hour.cuts)).toEqual([3]);
    expect(hour).toMatchObject({ contextInState: 2, emptyState: 0 });
    // Δ = 30 d: every state is empty
    expect(staleSelection(ds, { kind: "cutoff", seconds: 30 * 24 * H }).emptyState).toBe(3);
  });

  it("refuses settings that mean nothing", async () => {
    const ds = await datasetFromSequences({ u1: ["a", "b", "c"] });
    for (const bad of [
      { kind: "cutoff", seconds: 0 },
      { kind: "cutoff", seconds: Number.NaN },
      { kind: "drop-last", events: 0 },
      { kind: "drop-last", events: 1.5 },
    ] as const) {
      expect(() => staleSelection(ds, bad)).toThrow(CtxrecError);
    }
  });
});

const repoRoot = path.resolve(import.meta.dirname, "../..");
const beauty = path.resolve(repoRoot, "../shared/data/amazon-beauty/Beauty.txt");
const attrs = path.resolve(repoRoot, "../shared/data/amazon-beauty/Beauty_item2attributes.json");
describe.skipIf(!existsSync(beauty) || !existsSync(attrs))(
  needsData("Amazon Beauty users per setting", existsSync(beauty) && existsSync(attrs), beauty),
  () => {
    it("drop-last 1, 2 score every user (≥ 5 events each); drop-last 4 leaves out the 5-event users", async () => {
      const ds = await loadDataset({ format: "s3rec", path: beauty, attributes: attrs });
      const counts = [1, 2, 4].map((events) => staleSelection(ds, { kind: "drop-last", events }));
      expect(counts.map((s) => s.users.length)).toEqual([22_363, 22_363, 15_201]);
      expect(counts[2].emptyState).toBe(22_363 - 15_201);
      expect(counts.map((s) => s.contextWithoutCategories)).toEqual([0, 0, 0]);
    });
  },
);

describe("subject context", () => {
  it("copies every category and confidence of the item at the given position", async () => {
    const ds = await timedDataset(
      {
        u1: [
          ["i1", 0],
          ["i2", 1],
          ["i3", 2],
        ],
      },
      { i1: ["x"], i2: ["y", "z", "w"], i3: [] },
    );
    const c = subjectContext(ds, Int32Array.of(1, 0, 2)); // items i2, i1, i3
    const cat = (n: string) => ds.categoryVocab.get(n);
    expect(Array.from(c.offsets)).toEqual([0, 3, 4, 4]);
    expect(Array.from(c.categories)).toEqual([cat("y"), cat("z"), cat("w"), cat("x")]);
    expect(Array.from(c.confidences)).toEqual([1 / 3, 1 / 3, 1 / 3, 1].map(Math.fround));
    expect(c.categories.buffer).not.toBe(ds.catIds.buffer);
  });
});

/**
 * A cycle world: items x1..x20 on a cycle, each with its own category c1..c20; three users walk 6
 * steps from different starts, one event every 12 hours. With Δ = 24 h the target is at hour T,
 * the context (5th event) at T − 12, the 4th at T − 24 (not < T − 24: not in the state), so the
 * state is the first 3 events and 2 events are unseen.
 */
async function cycleWorld(): Promise<CompiledDataset> {
  const item = (j: number) => `x${1 + (j % 20)}`;
  const walk = (s: number): [string, number][] => Array.from({ length: 6 }, (_, t) => [item(s + t), 12 * t]);
  const categories: Record<string, string[]> = {};
  for (let j = 0; j < 20; j++) categories[item(j)] = [`c${1 + j}`];
  return timedDataset({ u1: walk(0), u2: walk(7), u3: walk(15) }, categories);
}

function itemCode(ds: CompiledDataset, id: string): number {
  const code = ds.itemVocab.get(id);
  if (code === undefined) throw new Error(`no item ${id}`);
  return code;
}

/** The code of the item after `code` on the cycle. */
function nextCode(ds: CompiledDataset, code: number): number {
  const j = Number(ds.itemVocab.names[code].slice(1));
  return itemCode(ds, `x${1 + (j % 20)}`);
}

/**
 * Oracles: score 1 for the item after the subject item (read from the context category cJ → xJ)
 * when the batch has a context, else after the last history item; 0 for every other item.
 */
function oracle(ds: CompiledDataset, name: string): DirectScorer {
  const N = ds.itemVocab.size;
  return {
    kind: "direct",
    name,
    async scoreAll(batch: HistoryBatch) {
      const out = new Float32Array(batch.size * N);
      for (let b = 0; b < batch.size; b++) {
        const c = batch.context;
        let from = batch.items[batch.historyOffsets[b + 1] - 1];
        if (c !== undefined && c.offsets[b + 1] > c.offsets[b]) {
          from = itemCode(ds, `x${ds.categoryVocab.names[c.categories[c.offsets[b]]].slice(1)}`);
        }
        out[b * N + nextCode(ds, from)] = 1;
      }
      return out;
    },
  };
}

describe("ranks of the four figures, by hand", () => {
  it("the context makes up for the stale state; fresh is loo's figure on the same users", async () => {
    const ds = await cycleWorld();
    const scorers = { baseline: oracle(ds, "next-of-last"), contextual: oracle(ds, "next-of-subject") };
    const [r] = await rankStaleContext(ds, scorers, {
      settings: [{ kind: "cutoff", seconds: 24 * H }],
      batchSize: 2,
    });
    expect(Array.from(r.selection.users)).toEqual(codes(ds, ["u1", "u2", "u3"]));
    expect(Array.from(r.selection.cuts, (c, j) => c - ds.offsets[r.selection.users[j]])).toEqual([3, 3, 3]);
    // Stale: the item after the last state event is the 4th event, a history item, filtered out; the
    // target scores 0 and ties with the 20 − 5 history items − 1 (itself) = 14 other candidates → rank 14.
    expect(Array.from(r.ranks.baseline)).toEqual([14, 14, 14]);
    expect(Array.from(r.ranks.contextualNoContext)).toEqual([14, 14, 14]);
    // The context (5th event) is the item just before the target: its successor is the target → rank 0.
    expect(Array.from(r.ranks.contextual)).toEqual([0, 0, 0]);
    // Fresh: the last history event is the 5th → rank 0; and it is exactly loo's filtered rank.
    expect(Array.from(r.ranks.fresh)).toEqual([0, 0, 0]);
    const loo = await rankLoo(ds, scorers.baseline);
    expect(Array.from(r.ranks.fresh)).toEqual(Array.from(loo.filtered));
  });

  it("evaluateStaleContext: one entry per setting, the first one on top, paired gains", async () => {
    const ds = await cycleWorld();
    const scorers = { baseline: oracle(ds, "next-of-last"), contextual: oracle(ds, "next-of-subject") };
    // Δ = 1 h: cut-off T − 1 → the state is the first 5 events, the context is inside it: nobody scored.
    await expect(
      evaluateStaleContext(ds, scorers, { settings: [{ kind: "cutoff", seconds: H }] }),
    ).rejects.toThrow(/cutoff 1h: no user .*\(3 context in state/);
    // Δ = 13 h: cut-off T − 13 → state = first 4 events, context 5th (T − 12) is news.
    const settings = [
      { kind: "cutoff", seconds: 24 * H },
      { kind: "cutoff", seconds: 13 * H },
    ] as const;
    const res = await evaluateStaleContext(ds, scorers, { settings, ks: [1, 10] });
    expect(res).toMatchObject({
      protocol: "stale-context",
      dataset: expect.stringMatching(/^csv:/),
      users: 3,
    });
    expect(res.models).toEqual({ baseline: "next-of-last", contextual: "next-of-subject" });
    expect(res.settings.map((s) => s.setting)).toEqual(["cutoff 24h", "cutoff 13h"]);
    expect(res.settings[1]).toMatchObject({
      cutoffSeconds: 13 * H,
      users: 3,
      meanStateEvents: 4,
      meanUnseenEvents: 1,
    });
    expect(res.metrics).toEqual(res.settings[0].metrics);
    expect(res.metrics.baseline["hit@10"]).toBe(0); // rank 14
    expect(res.metrics.contextual["hit@1"]).toBe(1);
    expect(res.metrics.fresh["ndcg@1"]).toBe(1);
    // Δ = 13 h: the item after the 4th (last state) event is the context item, a history item → rank 14 again.
    expect(res.settings[1].metrics.baseline.mrr).toBeCloseTo(1 / 15, 12);
    // every user gains exactly 1 in hit@1: mean 1, no spread
    expect(res.settings[0].gains.contextualVsBaseline["hit@1"]).toEqual({ mean: 1, ci95: [1, 1] });
    expect(res.settings[0].gains.contextVsNoContext["hit@10"].mean).toBe(1);
    const table = formatStaleTable(res);
    expect(table).toContain("cutoff 24h: 3 of 3 users scored");
    expect(table).toMatch(/^hit@1\s+0\.0000\s+1\.0000\s+0\.0000\s+1\.0000\s+\+1\.0000/m);
  });
});

describe("report helpers", () => {
  it("paired gain: mean of per-user differences ± 1.96 sd/√n", () => {
    // hit@10 of ranks a = [0, 20] → [1, 0], b = [20, 20] → [0, 0]: differences [1, 0], mean 0.5,
    // sample sd √((0.25 + 0.25) / 1) = 0.7071, half-width 1.96 · 0.7071 / √2 = 0.98
    const g = pairedGain("hit@10", [0, 20], [20, 20]);
    expect(g.mean).toBe(0.5);
    expect(g.ci95[0]).toBeCloseTo(-0.48, 12);
    expect(g.ci95[1]).toBeCloseTo(1.48, 12);
    // ndcg@10 at rank 1 is 1/log2(3) = 0.6309
    expect(pairedGain("ndcg@10", [1], [10]).mean).toBeCloseTo(1 / Math.log2(3), 12);
  });

  it("durations", () => {
    expect([90, 1800, H, 24 * H, 48 * H, 7 * 24 * H, 30 * 24 * H].map(formatDuration)).toEqual([
      "90s",
      "30m",
      "1h",
      "24h",
      "48h",
      "7d",
      "30d",
    ]);
  });
});
