import { describe, expect, it } from "vitest";
import { compareLoo, evaluateLoo, looTargets, rankLoo } from "./loo.ts";
import { pairedGain } from "./pairedGain.ts";
import { formatEvalTable } from "./result.ts";
import type { DirectScorer, EmbeddingScorer } from "./scorer.ts";
import { datasetFromSequences } from "./testData.ts";

// Items get codes in order of first appearance: a=1, b=2, c=3, d=4, e=5, f=6, g=7 (N = 8 with padding).
const ds = await datasetFromSequences({
  u1: ["a", "b", "c", "d", "e"],
  u2: ["c", "a", "f", "g"],
  u3: ["b", "e"], // 2 events: train only, never evaluated
  u4: ["g", "a", "b", "a"], // the test target `a` repeats a history item
});
// A user-independent scorer: d = 1, item "embeddings" are fixed values, every user embedding is [1].
//                         pad   a    b    c    d    e    f    g
const values = Float32Array.of(0, 0.7, 0.2, 0.9, 0.4, 0.5, 0.5, 0.1);
const fixed: EmbeddingScorer = {
  kind: "embedding",
  name: "fixed",
  dim: 1,
  itemEmbeddings: () => values,
  userEmbeddings: async (batch) => new Float32Array(batch.size).fill(1),
};

describe("loo targets", () => {
  it("evaluates users with ≥ 3 events; test = last position, validation = second-to-last", () => {
    const test = looTargets(ds, "test");
    const codes = ["u1", "u2", "u4"].map((u) => ds.userVocab.get(u));
    expect(Array.from(test.users)).toEqual(codes);
    // offsets: u1 0..4, u2 5..8, u3 9..10, u4 11..14
    expect(Array.from(test.positions)).toEqual([4, 8, 14]);
    expect(Array.from(looTargets(ds, "validation").positions)).toEqual([3, 7, 13]);
  });
});

describe("loo ranks and metrics, by hand", () => {
  // Test targets: u1 → e (0.5), history a b c d; u2 → g (0.1), history c a f; u4 → a (0.7), history g a b.
  //   u1 unfiltered: above {a 0.7, c 0.9}, tie {f 0.5} → 3; filtered: a, c removed, tie f → 1
  //   u2 unfiltered: all 6 others above → 6; filtered: c, a, f removed → b, d, e above → 3
  //   u4 unfiltered: c above → 1; filtered: c is not history → 1 (a itself stays a candidate)
  for (const matmul of ["onnxruntime", "typescript"] as const) {
    it(`test targets (${matmul} scores, batches of 2)`, async () => {
      const r = await rankLoo(ds, fixed, { batchSize: 2, matmul });
      expect(Array.from(r.filtered)).toEqual([1, 3, 1]);
      expect(Array.from(r.unfiltered)).toEqual([3, 6, 1]);
      expect(r.targetsInHistory).toBe(1);
    });
  }

  it("validation targets: u1 → d, u2 → f, u4 → b, histories stop before them", async () => {
    // u1 d (0.4), history a b c: unfiltered above {a, c, e, f} → 4; filtered {e, f} → 2
    // u2 f (0.5), history c a:   unfiltered above {a, c}, tie {e} → 3; filtered tie {e} → 1
    // u4 b (0.2), history g a:   unfiltered above {a, c, d, e, f} → 5; filtered {c, d, e, f} → 4
    const r = await rankLoo(ds, fixed, { target: "validation" });
    expect(Array.from(r.filtered)).toEqual([2, 1, 4]);
    expect(Array.from(r.unfiltered)).toEqual([4, 3, 5]);
    expect(r.targetsInHistory).toBe(0);
  });

  it("EvalResult: means of the hand-computed ranks", async () => {
    const res = await evaluateLoo(ds, fixed, { ks: [1, 5] });
    expect(res).toMatchObject({
      protocol: "loo",
      target: "test",
      model: "fixed",
      users: 3,
      targetsInHistory: 1,
    });
    expect(res.dataset).toBe("s3rec:seq.txt");
    // filtered ranks [1, 3, 1]: hit@1 = 0, hit@5 = 1, ndcg@5 = (2/log2 3 + 1/log2 5) / 3, mrr = (1/2 + 1/4 + 1/2) / 3
    expect(res.metrics["hit@1"]).toBe(0);
    expect(res.metrics["hit@5"]).toBe(1);
    expect(res.metrics["ndcg@5"]).toBeCloseTo((2 / Math.log2(3) + 1 / Math.log2(5)) / 3, 12);
    expect(res.metrics.mrr).toBeCloseTo(1.25 / 3, 12);
    // unfiltered ranks [3, 6, 1]: hit@5 = 2/3, mrr = (1/4 + 1/7 + 1/2) / 3
    expect(res.metricsUnfiltered["hit@5"]).toBeCloseTo(2 / 3, 12);
    expect(res.metricsUnfiltered.mrr).toBeCloseTo((1 / 4 + 1 / 7 + 1 / 2) / 3, 12);
  });

  it("a direct scorer giving the same scores gets the same ranks", async () => {
    const direct: DirectScorer = {
      kind: "direct",
      name: "fixed-direct",
      scoreAll: async (batch) => {
        const out = new Float32Array(batch.size * values.length);
        for (let b = 0; b < batch.size; b++) out.set(values, b * values.length);
        return out;
      },
    };
    const r = await rankLoo(ds, direct);
    expect(Array.from(r.filtered)).toEqual([1, 3, 1]);
    expect(Array.from(r.unfiltered)).toEqual([3, 6, 1]);
  });
});

describe("loo errors", () => {
  it("a scorer returning the wrong shape fails with CTXREC_ERR_SHAPE naming the scorer", async () => {
    const bad: EmbeddingScorer = { ...fixed, name: "bad", userEmbeddings: async () => new Float32Array(1) };
    await expect(rankLoo(ds, bad)).rejects.toThrow(
      /userEmbeddings\(\) \[B, d\].*scorer "bad" returned 1 values, expected \[3, 1\]/,
    );
    const badItems: EmbeddingScorer = {
      ...fixed,
      name: "bad-items",
      itemEmbeddings: () => new Float32Array(3),
    };
    await expect(rankLoo(ds, badItems)).rejects.toMatchObject({ code: "CTXREC_ERR_SHAPE" });
  });

  it("bad arguments and a data set without evaluable users are refused", async () => {
    await expect(rankLoo(ds, fixed, { batchSize: 0 })).rejects.toThrow(/parameter batchSize/);
    // biome-ignore lint/suspicious/noExplicitAny: deliberately passing an invalid target from untyped callers
    await expect(rankLoo(ds, fixed, { target: "train" as any })).rejects.toThrow(/parameter target/);
    const short = await datasetFromSequences({ u1: ["a", "b"], u2: ["c"] });
    await expect(rankLoo(short, fixed)).rejects.toMatchObject({ code: "CTXREC_ERR_DATA_EMPTY" });
  });
});

describe("compareLoo (ctxrec eval --versus)", () => {
  //                          pad   a    b    c    d    e    f    g
  const other = Float32Array.of(0, 0.1, 0.9, 0.2, 0.8, 0.3, 0.7, 0.6);
  const reversed: EmbeddingScorer = { ...fixed, name: "other", itemEmbeddings: () => other };
  it("both scorers' metrics as loo gives them, and the paired difference of each per-user metric", async () => {
    const r = await compareLoo(ds, fixed, reversed);
    const a = await evaluateLoo(ds, fixed);
    const b = await evaluateLoo(ds, reversed);
    expect(r.metrics).toEqual(a.metrics);
    expect(r.versus?.model).toBe("other");
    expect(r.versus?.metrics).toEqual(b.metrics);
    for (const name of ["hit@5", "ndcg@5", "hit@10", "ndcg@10"]) {
      const g = r.versus?.gains[name];
      expect(g?.mean).toBeCloseTo(a.metrics[name] - b.metrics[name], 12);
      expect(g?.ci95[0]).toBeLessThanOrEqual(g?.mean as number);
      expect(g?.ci95[1]).toBeGreaterThanOrEqual(g?.mean as number);
    }
    // Per user (3 users) the ndcg@5 differences are those of the hand-ranked targets.
    const ranksA = (await rankLoo(ds, fixed)).filtered;
    const ranksB = (await rankLoo(ds, reversed)).filtered;
    expect(r.versus?.gains["ndcg@5"]).toEqual(pairedGain("ndcg@5", ranksA, ranksB));
    expect(formatEvalTable(r)).toMatch(/versus other on the same users[\s\S]*ndcg@10 /);
  });
  it("a scorer against itself: zero difference, zero-width interval", async () => {
    const r = await compareLoo(ds, fixed, fixed);
    for (const g of Object.values(r.versus?.gains ?? {})) expect(g).toEqual({ mean: 0, ci95: [0, 0] });
  });
});
