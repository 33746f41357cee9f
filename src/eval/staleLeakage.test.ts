/**
 * `stale-context` never lets a model see anything derived from the target, and its stale state
 * really stops at the cut-off: spy scorers record every history, timestamp and context category
 * they are handed, pass by pass, and each must be exactly what the protocol promises. Runs on small
 * hand-made data sets, and on MovieLens-100K when ../shared/data is present (Beauty's drop-last cuts
 * are the small S3-Rec case's; its user counts are checked in staleContext.test.ts).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { CompiledDataset } from "../data/dataset.ts";
import { loadDataset } from "../data/load.ts";
import type { LooTarget } from "./result.ts";
import type { StaleSetting } from "./staleContext.ts";
import { evaluateStaleContext, staleSelection } from "./staleContext.ts";
import { type SeenRow, spyScorer, timedDataset } from "./staleTestData.ts";
import { datasetFromSequences } from "./testData.ts";

const H = 3600;

/** The events [from, to) of the data set as item codes. */
const itemsOf = (ds: CompiledDataset, from: number, to: number) => Array.from(ds.items.subarray(from, to));

/**
 * Runs one setting with two spies and checks every row they saw. Returns the number of scored users.
 * Per user: the baseline sees the stale state once (baseline) and the full history once (fresh),
 * never a context; the contextual model sees the stale state twice, once with the context of the
 * event just before the target and once without.
 */
async function checkSetting(
  ds: CompiledDataset,
  setting: StaleSetting,
  targetWhich: LooTarget = "test",
): Promise<number> {
  const N = ds.itemVocab.size;
  const base = spyScorer(N, "base");
  const ctx = spyScorer(N, "ctx");
  await evaluateStaleContext(
    ds,
    { baseline: base.scorer, contextual: ctx.scorer },
    { settings: [setting], batchSize: 50, target: targetWhich },
  );
  const sel = staleSelection(ds, setting, targetWhich);
  const byUser = (rows: SeenRow[]) => {
    const m = new Map<number, SeenRow[]>();
    for (const r of rows) m.set(r.user, [...(m.get(r.user) ?? []), r]);
    return m;
  };
  const baseRows = byUser(base.rows);
  const ctxRows = byUser(ctx.rows);
  expect(new Set(baseRows.keys())).toEqual(new Set(sel.users));
  expect(new Set(ctxRows.keys())).toEqual(new Set(sel.users));
  // Plain comparisons collected into one list (one `expect` per value would cost seconds on real data).
  const problems: string[] = [];
  const same = (a: ArrayLike<number> | undefined, b: ArrayLike<number>, what: string, u: number) => {
    if (a === undefined || a.length !== b.length || Array.from(a).some((x, i) => x !== b[i])) {
      problems.push(
        `user ${u}: ${what}: saw [${a === undefined ? "none" : Array.from(a)}], expected [${Array.from(b)}]`,
      );
    }
  };
  for (let j = 0; j < sel.users.length; j++) {
    const u = sel.users[j];
    const start = ds.offsets[u];
    const target = sel.targets[j];
    const expectedTarget = ds.offsets[u + 1] - (targetWhich === "test" ? 1 : 2);
    if (target !== expectedTarget)
      problems.push(`user ${u}: target ${target} is not the ${targetWhich} event`);
    // The stale state is exactly the events before the cut-off: it really excludes those after it.
    const cutoff = setting.kind === "cutoff" ? ds.timestamps[target] - setting.seconds : Number.NaN;
    const state: number[] = [];
    for (let e = start; e < target; e++) {
      if (setting.kind === "cutoff" ? ds.timestamps[e] < cutoff : e < target - setting.events)
        state.push(ds.items[e]);
    }
    same(itemsOf(ds, start, sel.cuts[j]), state, "selection state", u);
    // The context event (just before the target) is after the cut-off: news to the state.
    if (sel.cuts[j] > target - 1) problems.push(`user ${u}: the context event is inside the state`);
    const b = baseRows.get(u) ?? [];
    if (b.length !== 2 || b.some((r) => r.categories !== undefined)) {
      problems.push(`user ${u}: the baseline must see 2 rows without context, saw ${b.length}`);
      continue;
    }
    const [short, long] = b.map((r) => r.items).sort((x, y) => x.length - y.length);
    same(short, state, "baseline stale state", u);
    same(long, itemsOf(ds, start, target), "fresh history", u);
    const c = ctxRows.get(u) ?? [];
    const withCtx = c.filter((r) => r.categories !== undefined);
    if (c.length !== 2 || withCtx.length !== 1) {
      problems.push(
        `user ${u}: the contextual model must see 2 rows, 1 with context; saw ${c.length}, ${withCtx.length}`,
      );
      continue;
    }
    for (const r of c) {
      same(r.items, state, "contextual stale state", u);
      if (setting.kind === "cutoff" && r.timestamps.some((t) => !(t < cutoff))) {
        problems.push(`user ${u}: an event at or after the cut-off reached the contextual model`);
      }
    }
    const subject = ds.items[target - 1];
    const [c0, c1] = [ds.catOffsets[subject], ds.catOffsets[subject + 1]];
    same(withCtx[0].categories, ds.catIds.subarray(c0, c1), "context categories", u);
    same(withCtx[0].confidences, ds.catConf.subarray(c0, c1), "context confidences", u);
  }
  expect(problems.slice(0, 5)).toEqual([]);
  // Copies, not views: a scorer cannot index past its history into the target through a batch.
  for (const batch of [...base.batches, ...ctx.batches]) {
    expect(batch.items.buffer).not.toBe(ds.items.buffer);
    expect(batch.timestamps.buffer).not.toBe(ds.timestamps.buffer);
    if (batch.context !== undefined) {
      expect(batch.context.categories.buffer).not.toBe(ds.catIds.buffer);
      expect(batch.context.confidences.buffer).not.toBe(ds.catConf.buffer);
    }
  }
  return sel.users.length;
}

/**
 * Every user's target item occurs once in the data set (nobody else has it, the user never had it
 * before) and carries a category no other item has; the context item is never the target.
 */
async function leakWorld(): Promise<CompiledDataset> {
  const events: Record<string, [string, number][]> = {
    u1: [
      ["a", 0],
      ["b", 10],
      ["c", 30],
      ["d", 40],
      ["e", 47],
      ["t1", 48],
    ],
    u2: [
      ["a", 0],
      ["c", 1],
      ["f", 100],
      ["b", 150],
      ["t2", 170],
    ],
    u3: [
      ["d", 50],
      ["e", 60],
      ["f", 70],
      ["t3", 71],
    ],
    u4: [
      ["b", 0],
      ["a", 200],
      ["c", 400],
      ["d", 800],
      ["t4", 900],
    ],
  };
  const categories: Record<string, string[]> = {
    a: ["x"],
    b: ["x", "y"],
    c: ["y"],
    d: ["z", "x", "y"],
    e: [],
    f: ["z"],
    t1: ["only-t1"],
    t2: ["only-t2", "x"],
    t3: ["only-t3"],
    t4: ["only-t4", "y"],
  };
  return timedDataset(events, categories);
}

describe("stale-context: nothing derived from the target reaches a model", () => {
  it("a recording scorer never sees a target item or a target-only category", async () => {
    const ds = await leakWorld();
    const N = ds.itemVocab.size;
    const targets = new Set(["t1", "t2", "t3", "t4"].map((i) => ds.itemVocab.get(i)));
    const targetOnly = new Set(
      ["only-t1", "only-t2", "only-t3", "only-t4"].map((c) => ds.categoryVocab.get(c)),
    );
    let scored = 0;
    for (const seconds of [H, 24 * H, 7 * 24 * H, 30 * 24 * H]) {
      const settings = [{ kind: "cutoff", seconds }] as const;
      const base = spyScorer(N);
      const ctx = spyScorer(N);
      try {
        await evaluateStaleContext(ds, { baseline: base.scorer, contextual: ctx.scorer }, { settings });
      } catch {
        continue; // a setting that scores nobody (checked in staleContext.test.ts)
      }
      for (const r of [...base.rows, ...ctx.rows]) {
        scored++;
        for (const i of r.items)
          expect(targets.has(i), `target item ${ds.itemVocab.names[i]} in a history`).toBe(false);
        for (const c of r.categories ?? []) {
          expect(targetOnly.has(c), `target category ${ds.categoryVocab.names[c]} in a context`).toBe(false);
        }
      }
    }
    expect(scored).toBeGreaterThan(0);
  });

  it("small timed data set: states stop at the cut-off, the context is the event before the target", async () => {
    const ds = await leakWorld();
    // Δ = 24 h: u1 state a b (hours < 24; context e at 47), u2 a c f (< 146; context b at 150);
    // u3 empty (nothing before hour 47); u4's context d (hour 800) is inside its state (< 876).
    expect(await checkSetting(ds, { kind: "cutoff", seconds: 24 * H })).toBe(2);
    expect(await checkSetting(ds, { kind: "cutoff", seconds: H })).toBeGreaterThan(0);
    expect(await checkSetting(ds, { kind: "cutoff", seconds: 7 * 24 * H })).toBeGreaterThan(0);
  });

  it("S3-Rec positions: drop-last 1, 2, 4", async () => {
    const ds = await datasetFromSequences({
      u1: ["a", "b", "c", "d", "e", "f", "g"],
      u2: ["c", "a", "f"],
      u3: ["g", "a", "b", "a", "h"],
    });
    expect(await checkSetting(ds, { kind: "drop-last", events: 1 })).toBe(3);
    expect(await checkSetting(ds, { kind: "drop-last", events: 2 })).toBe(2);
    expect(await checkSetting(ds, { kind: "drop-last", events: 4 })).toBe(1);
    // Validation targets: one event earlier; the test event (the last) is never read.
    expect(await checkSetting(ds, { kind: "drop-last", events: 1 }, "validation")).toBe(2); // u2: empty state
    expect(await checkSetting(ds, { kind: "drop-last", events: 4 }, "validation")).toBe(1);
  });

  const repoRoot = path.resolve(import.meta.dirname, "../..");
  const ml100k = path.resolve(repoRoot, "../shared/data/ml-100k");
  it.skipIf(!existsSync(path.join(ml100k, "u.data")))(
    `MovieLens-100K: every scored user under the 1 h … 30 d sweep (skipped when ${ml100k} is absent)`,
    async () => {
      const ds = await loadDataset({ format: "movielens-100k", path: ml100k });
      const counts: number[] = [];
      for (const hours of [1, 24, 7 * 24, 30 * 24])
        counts.push(await checkSetting(ds, { kind: "cutoff", seconds: hours * H }));
      // Many ML-100K users rated everything in one sitting: their state is empty under a day's cut-off.
      expect(counts).toEqual([382, 254, 205, 167]);
    },
  );
});
