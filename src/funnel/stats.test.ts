import { describe, expect, it } from "vitest";
import { Rng } from "../core/rng.ts";
import { median, topK } from "./stats.ts";

describe("median", () => {
  it("takes the middle value, or the mean of the two middle values", () => {
    expect(median([3, 1, 2])).toBe(2);
    // sorted 1 2 3 4 → (2 + 3) / 2 = 2.5
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([0.7])).toBe(0.7);
  });

  it("is NaN for an empty sample and leaves its input alone", () => {
    expect(median([])).toBeNaN();
    const xs = [3, 1, 2];
    median(xs);
    expect(xs).toEqual([3, 1, 2]);
  });
});

describe("topK", () => {
  const scores = [0.5, 0.9, 0.1, 0.9, 0.7];
  const s = (i: number) => scores[i];

  it("returns the k best, best first, ties to the lower tie rank", () => {
    // 0.9 (items 1 and 3, tie rank = index → 1 first), then 0.7 (item 4).
    expect(topK([0, 1, 2, 3, 4], 3, s, (i) => i).map((e) => e.index)).toEqual([1, 3, 4]);
    // Reversed tie ranks put item 3 before item 1.
    expect(topK([0, 1, 2, 3, 4], 3, s, (i) => -i).map((e) => e.index)).toEqual([3, 1, 4]);
  });

  it("skips NaN scores and returns fewer when there are fewer candidates", () => {
    expect(
      topK(
        [0, 2],
        5,
        (i) => (i === 0 ? Number.NaN : 1),
        (i) => i,
      ),
    ).toEqual([{ index: 2, score: 1 }]);
    expect(topK([0, 1], 0, s, (i) => i)).toEqual([]);
  });

  it("agrees with a full sort on random inputs (several seeds)", () => {
    for (const seed of [1, 2, 3]) {
      const rng = new Rng(seed);
      // Coarse scores (10 levels) force many ties.
      const xs = Array.from({ length: 200 }, () => rng.int(10) / 10);
      const tie = Array.from({ length: 200 }, (_, i) => (i * 7919) % 200);
      const cands = Array.from({ length: 200 }, (_, i) => i);
      const ref = [...cands].sort((a, b) => xs[b] - xs[a] || tie[a] - tie[b]).slice(0, 17);
      expect(
        topK(
          cands,
          17,
          (i) => xs[i],
          (i) => tie[i],
        ).map((e) => e.index),
      ).toEqual(ref);
    }
  });

  it("rejects a negative k", () => {
    expect(() => topK([1], -1, s, (i) => i)).toThrow("parameter k: k must be an integer ≥ 0, got -1");
  });
});
