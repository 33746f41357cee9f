import { describe, expect, it } from "vitest";
import { Rng } from "../core/rng.ts";
import { sortCandidates, TopK } from "./topk.ts";

describe("TopK", () => {
  it("keeps the K best, best first, ties by lower row", () => {
    // scores by row: 0→0.5, 1→2, 2→0.5, 3→-1, 4→2, 5→1 ⇒ best 4: rows 1, 4 (2), 5 (1), 0 (0.5; beats row 2 on the tie).
    const t = new TopK(4);
    [0.5, 2, 0.5, -1, 2, 1].forEach((s, i) => {
      t.push(i, s);
    });
    const { rows, scores } = t.drain();
    expect(Array.from(rows)).toEqual([1, 4, 5, 0]);
    expect(Array.from(scores)).toEqual([2, 2, 1, 0.5]);
    expect(t.length).toBe(0);
  });

  it.each([1, 2, 3])("matches a full sort on random streams (seed %i)", (seed) => {
    const rng = new Rng(seed);
    const scores = Array.from({ length: 500 }, () => Math.round(rng.normal() * 20) / 4); // many ties
    const want = scores
      .map((s, i) => [i, s] as const)
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, 37);
    const t = new TopK(37);
    scores.forEach((s, i) => {
      t.push(i, s);
    });
    const got = t.drain();
    expect(Array.from(got.rows)).toEqual(want.map((w) => w[0]));
    expect(t.threshold).toBe(Number.NEGATIVE_INFINITY);
  });

  it("sorts short candidate lists and handles an empty one", () => {
    expect(Array.from(sortCandidates([7, 3, 9], [0.1, 0.3, 0.2], 2).rows)).toEqual([3, 9]);
    expect(sortCandidates([], [], 5).rows.length).toBe(0);
  });
});
