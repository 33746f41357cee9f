import { describe, expect, it } from "vitest";
import { createCooccurrenceScorer, createPopularityScorer, trainItemCounts } from "./baselines.ts";
import { buildHistoryBatch } from "./history.ts";
import { rankLoo } from "./loo.ts";
import { datasetFromSequences } from "./testData.ts";

// Codes by first appearance: a=1, b=2, c=3, d=4, e=5. Train part = all but the last 2 events (users with ≥ 3).
const ds = await datasetFromSequences({
  u1: ["a", "b", "c", "d", "e"], // train a b c      (d validation, e test)
  u2: ["a", "b", "a", "c", "d"], // train a b a      (c validation, d test)
  u3: ["b", "c"], //                 train b c        (< 3 events: all train)
});

describe("train counts", () => {
  it("count only train positions (validation and test targets never)", () => {
    // a: u1 1 + u2 2 = 3; b: u1, u2, u3 = 3; c: u1, u3 = 2; d, e: only in held-out positions = 0
    expect(Array.from(trainItemCounts(ds))).toEqual([0, 3, 3, 2, 0, 0]);
  });
});

describe("popularity scorer", () => {
  it("scores every user with the train counts", async () => {
    const scorer = createPopularityScorer(ds);
    const batch = buildHistoryBatch(ds, Int32Array.of(1, 2), Int32Array.of(4, 9));
    expect(Array.from(await scorer.scoreAll(batch))).toEqual([0, 3, 3, 2, 0, 0, 0, 3, 3, 2, 0, 0]);
  });

  it("ranks by hand: test targets e (u1) and d (u2) score 0 and tie with every unseen item", async () => {
    // u1 → e (0): unfiltered above {a, b, c}, tie {d} → 4; filtered (history a b c d removed) → 0
    // u2 → d (0): unfiltered above {a, b, c}, tie {e} → 4; filtered (history a b a c removed) → tie e → 1
    const r = await rankLoo(ds, createPopularityScorer(ds));
    expect(Array.from(r.unfiltered)).toEqual([4, 4]);
    expect(Array.from(r.filtered)).toEqual([0, 1]);
  });
});

describe("co-occurrence scorer", () => {
  it("window 1: followers of the last history item, popularity / (max + 1) breaks ties", async () => {
    // Train transitions: u1 a→b, b→c; u2 a→b, b→a; u3 b→c. Followers of b: c ×2, a ×1. Max count 3 → prior c/4.
    // prior = [0, 3/4, 3/4, 2/4, 0, 0]
    const scorer = createCooccurrenceScorer(ds);
    expect(scorer.name).toBe("cooccurrence");
    const batch = buildHistoryBatch(ds, Int32Array.of(1), Int32Array.of(2)); // u1 history a b (last = b)
    // a: 1 + 0.75, b: 0.75, c: 2 + 0.5, d: 0, e: 0
    expect(Array.from(await scorer.scoreAll(batch))).toEqual([0, 1.75, 0.75, 2.5, 0, 0]);
  });

  it("window 2 also counts the item two steps later", async () => {
    // a→{b, c} (u1), b→{c} (u1, end of train), a→{b, a} (u2), b→{a} (u2), b→c (u3)
    // followers of a: b ×2, c ×1, a ×1
    const scorer = createCooccurrenceScorer(ds, { window: 2 });
    const batch = buildHistoryBatch(ds, Int32Array.of(2), Int32Array.of(6)); // u2 history a (last = a)
    expect(Array.from(await scorer.scoreAll(batch))).toEqual([0, 1.75, 2.75, 1.5, 0, 0]);
  });

  it("an empty history gets popularity alone; a bad window is refused", async () => {
    const scorer = createCooccurrenceScorer(ds);
    const empty = buildHistoryBatch(ds, Int32Array.of(1), Int32Array.of(0));
    expect(Array.from(await scorer.scoreAll(empty))).toEqual([0, 0.75, 0.75, 0.5, 0, 0]);
    expect(() => createCooccurrenceScorer(ds, { window: 0 })).toThrow(/parameter window/);
  });
});
