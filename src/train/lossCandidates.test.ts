import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../core/rng.ts";
import { initEngine, withBackend } from "../engine/backend.ts";
import {
  EXPECTED_COUNT_MIN,
  inBatchCandidates,
  itemFrequency,
  mixCandidates,
  sampleUniformIds,
  uniformCandidates,
} from "./lossCandidates.ts";

beforeAll(async () => {
  await initEngine();
});

const cpu = <T>(fn: () => T) => withBackend("cpu", fn);
const emb = (rows: number, d = 2) => tf.zeros([rows, d]) as tf.Tensor2D;

describe("itemFrequency", () => {
  it("counts ids and never counts padding", () => {
    // ids 1, 2, 2, 0, 3 over N = 5 → [0, 1, 2, 1, 0]
    expect(Array.from(itemFrequency(Int32Array.from([1, 2, 2, 0, 3]), 5))).toEqual([0, 1, 2, 1, 0]);
  });

  it("names an id outside the vocabulary", () => {
    expect(() => itemFrequency([1, 9], 5)).toThrow("parameter ids: id 9 at position 1 is not in [0, 5)");
  });
});

describe("inBatchCandidates", () => {
  it("expects M_b · f_i / Σf copies of each item, M_b counting real rows only", () =>
    cpu(() => {
      // Rows 1, 2, 2, 0 (one padding row) → M_b = 3; f = [0, 1, 2, 1, 0], Σf = 4 → scale 3/4.
      // id 1: 0.75 · 1 = 0.75; id 2: 0.75 · 2 = 1.5; id 0 (padding): 0 → clamped to ε.
      const c = inBatchCandidates(Int32Array.from([1, 2, 2, 0]), emb(4), [0, 1, 2, 1, 0], 4);
      expect(Array.from(c.expectedCount)).toEqual([0.75, 1.5, 1.5, Math.fround(EXPECTED_COUNT_MIN)]);
      expect(c.sampler.expectedCount(3)).toBeCloseTo(0.75, 12);
      expect(c.sampler.name).toBe("in-batch");
    }));

  it("rejects a bad total and a shape mismatch", () =>
    cpu(() => {
      expect(() => inBatchCandidates(Int32Array.from([1]), emb(1), [0, 1], 0)).toThrow("parameter total");
      expect(() => inBatchCandidates(Int32Array.from([1, 1]), emb(3), [0, 1], 1)).toThrow(
        "candidates.embeddings: expected shape [2, -1], received [3, 2]",
      );
    }));
});

describe("uniform candidates", () => {
  it("draws ids in 1..N−1, the same for the same seed, about uniformly", () => {
    const a = sampleUniformIds(40_000, 5, new Rng(3));
    expect(a).toEqual(sampleUniformIds(40_000, 5, new Rng(3)));
    const counts = [0, 0, 0, 0, 0];
    for (const id of a) counts[id]++;
    expect(counts[0]).toBe(0);
    // 4 real items → 10,000 each expected; binomial sd = √(40000·¼·¾) ≈ 87, so ±500 is > 5 sd.
    for (let i = 1; i < 5; i++) expect(Math.abs(counts[i] - 10_000)).toBeLessThan(500);
  });

  it("expects M_u / (N − 1) copies of every real item", () =>
    cpu(() => {
      // M_u = 2 over N − 1 = 4 real items → 0.5 each.
      const c = uniformCandidates(Int32Array.from([3, 3]), emb(2), 5);
      expect(Array.from(c.expectedCount)).toEqual([0.5, 0.5]);
      expect(c.sampler.expectedCount(1)).toBe(0.5);
      expect(c.sampler.expectedCount(0)).toBe(0);
    }));
});

describe("mixCandidates", () => {
  it("adds the expected counts of both samplers per item (Yang et al. 2020)", () =>
    cpu(() => {
      // In-batch rows 1, 2 with f = [0, 1, 3, 0, 0], Σf = 4 → M_b/Σf = 0.5: E_b(1) = 0.5, E_b(2) = 1.5.
      // Uniform ids 2, 4 over N − 1 = 4 items → E_u(i) = 0.5 for every item.
      // Mixed columns [1, 2, 2, 4] → [0.5+0.5, 1.5+0.5, 1.5+0.5, 0+0.5] = [1, 2, 2, 0.5],
      // i.e. M_b·f_i/Σf + M_u/N: id 2 → 2·3/4 + 2/4 = 2.
      const a = inBatchCandidates(
        Int32Array.from([1, 2]),
        tf.ones([2, 3]) as tf.Tensor2D,
        [0, 1, 3, 0, 0],
        4,
      );
      const b = uniformCandidates(Int32Array.from([2, 4]), tf.zeros([2, 3]) as tf.Tensor2D, 5);
      const m = mixCandidates(a, b);
      expect(Array.from(m.ids)).toEqual([1, 2, 2, 4]);
      expect(Array.from(m.expectedCount)).toEqual([1, 2, 2, 0.5]);
      expect(m.embeddings.shape).toEqual([4, 3]);
      expect(Array.from(m.embeddings.dataSync())).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
      expect(m.sampler.name).toBe("in-batch+uniform");
      expect(m.sampler.expectedCount(3)).toBe(0.5);
    }));

  it("refuses candidates of different widths", () =>
    cpu(() => {
      const a = uniformCandidates(Int32Array.from([1]), emb(1, 2), 5);
      const b = uniformCandidates(Int32Array.from([1]), emb(1, 3), 5);
      expect(() => mixCandidates(a, b)).toThrow("b.embeddings: expected shape [1, 2], received [1, 3]");
    }));
});
