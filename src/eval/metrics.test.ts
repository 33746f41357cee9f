import { describe, expect, it } from "vitest";
import { CtxrecError } from "../core/errors.ts";
import { conservativeRank, hitAt, ndcgAt, reciprocalRank, summarizeRanks, targetRanks } from "./metrics.ts";

describe("per-rank metrics", () => {
  it("HIT@K, NDCG@K and RR of 0-based ranks", () => {
    expect([hitAt(0, 5), hitAt(4, 5), hitAt(5, 5)]).toEqual([1, 1, 0]);
    expect(ndcgAt(0, 10)).toBe(1); // 1 / log2(2)
    expect(ndcgAt(1, 10)).toBeCloseTo(1 / Math.log2(3), 12); // 0.6309…
    expect(ndcgAt(2, 10)).toBe(0.5); // 1 / log2(4)
    expect(ndcgAt(6, 10)).toBeCloseTo(1 / 3, 12); // 1 / log2(8)
    expect(ndcgAt(10, 10)).toBe(0);
    expect([reciprocalRank(0), reciprocalRank(3)]).toEqual([1, 0.25]);
    expect(conservativeRank(3, 2)).toBe(5);
  });

  it("summarizes ranks [0, 2, 6, 30] by hand", () => {
    const m = summarizeRanks([0, 2, 6, 30], [5, 10]);
    // hit@5: ranks 0, 2 → 2/4; hit@10: 0, 2, 6 → 3/4
    expect(m["hit@5"]).toBe(0.5);
    expect(m["hit@10"]).toBe(0.75);
    // ndcg@5 = (1 + 1/log2 4) / 4 = (1 + 0.5) / 4 = 0.375; ndcg@10 adds 1/log2 8 = 1/3 → (1.5 + 1/3) / 4
    expect(m["ndcg@5"]).toBeCloseTo(0.375, 12);
    expect(m["ndcg@10"]).toBeCloseTo((1.5 + 1 / 3) / 4, 12);
    // mrr = (1 + 1/3 + 1/7 + 1/31) / 4
    expect(m.mrr).toBeCloseTo((1 + 1 / 3 + 1 / 7 + 1 / 31) / 4, 12);
    expect(Object.keys(m)).toEqual(["hit@5", "ndcg@5", "hit@10", "ndcg@10", "mrr"]);
  });

  it("refuses an empty set of users and bad cut-offs", () => {
    expect(() => summarizeRanks([])).toThrow(CtxrecError);
    expect(() => summarizeRanks([1], [0])).toThrow(/parameter ks/);
  });
});

describe("targetRanks", () => {
  // Row of N = 6 columns; column 0 is padding (its huge score must be ignored).
  //   item:   0    1    2    3    4    5
  const row = Float32Array.of(99, 0.5, 0.9, 0.5, 0.1, 0.7);

  it("counts strictly greater items and all ties against the target", () => {
    // target 1 (0.5): greater = {2: 0.9, 5: 0.7} = 2, ties = {3} = 1 → rank 3 (not 2, the optimistic one)
    expect(targetRanks(row, 0, 6, 1)).toEqual({ filtered: 3, unfiltered: 3 });
    // target 2 (0.9): nothing above, no tie → rank 0
    expect(targetRanks(row, 0, 6, 2).unfiltered).toBe(0);
  });

  it("removes excluded items from the filtered rank only, never the target", () => {
    const excluded = [2, 3]; // history = items 2 and 3
    // target 1: unfiltered 3 as above; filtered drops 2 (greater) and 3 (tie) → only item 5 above → 1
    expect(targetRanks(row, 0, 6, 1, excluded)).toEqual({ filtered: 1, unfiltered: 3 });
    // even if a caller lists the target (or padding) as excluded, it stays a candidate
    const withTarget = [0, 1, 2, 3];
    expect(targetRanks(row, 0, 6, 1, withTarget)).toEqual({ filtered: 1, unfiltered: 3 });
  });

  it("reads the right row of a [B, N] matrix", () => {
    const two = Float32Array.of(0, 1, 2, 3, /* row 1 */ 0, 3, 2, 1);
    expect(targetRanks(two, 4, 4, 1).unfiltered).toBe(0); // row 1: item 1 scores 3, the top
    expect(targetRanks(two, 0, 4, 1).unfiltered).toBe(2); // row 0: items 2, 3 above
  });

  it("an all-equal row ranks the target last (a constant model gets nothing)", () => {
    const flat = new Float32Array(11).fill(0.3);
    expect(targetRanks(flat, 0, 11, 4).unfiltered).toBe(9); // 10 real items, 9 others tied
  });

  it("throws CTXREC_ERR_NUMERIC on NaN scores", () => {
    const nanTarget = Float32Array.of(0, Number.NaN, 1);
    expect(() => targetRanks(nanTarget, 0, 3, 1)).toThrow(/target item 1 has score NaN/);
    const nanOther = Float32Array.of(0, 1, Number.NaN);
    expect(() => targetRanks(nanOther, 0, 3, 1)).toThrow(/1 item scores are NaN/);
  });
});
