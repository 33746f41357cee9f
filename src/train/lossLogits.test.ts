import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initEngine, withBackend } from "../engine/backend.ts";
import { type Candidates, EXPECTED_COUNT_MIN } from "./lossCandidates.ts";
import { accidentalHitMask, logQCorrect, MASKED_LOGIT, maskAccidentalHits, scores } from "./lossLogits.ts";

beforeAll(async () => {
  await initEngine();
});

const cpu = <T>(fn: () => T) => withBackend("cpu", fn);

function candidates(ids: number[], rows: number[][], counts: number[]): Candidates {
  return {
    ids: Int32Array.from(ids),
    embeddings: tf.tensor2d(rows),
    expectedCount: Float32Array.from(counts),
    sampler: { name: "test", expectedCount: (id) => counts[ids.indexOf(id)] ?? 0 },
  };
}

describe("scores", () => {
  it("is u · cᵀ / τ", () =>
    cpu(() => {
      // u = [[1,0],[0,2]], c = [[1,1],[2,−1],[0,0.5]]: u·cᵀ = [[1,2,0],[2,−2,1]]; / 0.5 → [[2,4,0],[4,−4,2]]
      const u = tf.tensor2d([
        [1, 0],
        [0, 2],
      ]);
      const c = candidates(
        [1, 2, 3],
        [
          [1, 1],
          [2, -1],
          [0, 0.5],
        ],
        [1, 1, 1],
      );
      expect(scores(u, c, 0.5).arraySync()).toEqual([
        [2, 4, 0],
        [4, -4, 2],
      ]);
    }));

  it("rejects a zero temperature and a width mismatch", () =>
    cpu(() => {
      const c = candidates([1], [[1, 1]], [1]);
      expect(() => scores(tf.ones([1, 2]) as tf.Tensor2D, c, 0)).toThrow("parameter temperature");
      expect(() => scores(tf.ones([1, 3]) as tf.Tensor2D, c, 1)).toThrow(
        "candidates.embeddings: expected shape [1, 3], received [1, 2]",
      );
    }));
});

describe("logQCorrect", () => {
  it("subtracts log(expected count): popular columns go DOWN, rare ones UP", () =>
    cpu(() => {
      // logits [[1, 1, 1]], counts [e², 1, e⁻¹] → [1 − 2, 1 − 0, 1 + 1] = [−1, 1, 2]
      const out = logQCorrect(tf.tensor2d([[1, 1, 1]]), [Math.exp(2), 1, Math.exp(-1)]);
      const v = out.dataSync();
      expect(v[0]).toBeCloseTo(-1, 5);
      expect(v[1]).toBeCloseTo(1, 6);
      expect(v[2]).toBeCloseTo(2, 5);
    }));

  it("clamps a zero count at ε instead of producing an infinite logit", () =>
    cpu(() => {
      // 1 − log(1e−8) = 1 + 18.4207 = 19.4207
      const v = logQCorrect(tf.tensor2d([[1]]), [0]).dataSync();
      expect(v[0]).toBeCloseTo(1 - Math.log(EXPECTED_COUNT_MIN), 3);
      expect(Number.isFinite(v[0])).toBe(true);
    }));
});

describe("maskAccidentalHits", () => {
  it("masks the row's positive among the candidates and padding candidates", () => {
    // positives [5, 7]; candidates [5, 7, 0, 9]: row 0 masks cols 0 (hit) and 2 (padding),
    // row 1 masks cols 1 and 2.
    const { mask, masked } = accidentalHitMask([5, 7], [5, 7, 0, 9]);
    const M = MASKED_LOGIT;
    expect(Array.from(mask)).toEqual([M, 0, M, 0, 0, M, M, 0].map(Math.fround));
    expect(masked).toBe(4);
  });

  it("leaves the label column of the in-batch-diagonal layout alone", () => {
    // positives [5, 7] with labels in columns 0 and 1; a second copy of 5 in column 3 is a hit.
    const { mask } = accidentalHitMask([5, 7], [5, 7, 0, 5], [0, 1]);
    const M = Math.fround(MASKED_LOGIT);
    expect(Array.from(mask)).toEqual([0, 0, M, M, 0, 0, M, 0]);
  });

  it("gives masked columns probability 0 and keeps the rest finite", () =>
    cpu(() => {
      const logits = tf.tensor2d([
        [3, 1, 2],
        [0, 0, 0],
      ]);
      const masked = maskAccidentalHits(logits, [4, 6], [4, 5, 6]);
      const p = tf.softmax(masked).arraySync();
      // Row 0 masks col 0: softmax([1, 2]) = [0.2689, 0.7311]; row 1 masks col 2: [0.5, 0.5].
      expect(p[0][0]).toBe(0);
      expect(p[0][1]).toBeCloseTo(0.2689, 4);
      expect(p[1]).toEqual([0.5, 0.5, 0]);
      expect(masked.dataSync().every(Number.isFinite)).toBe(true);
    }));

  it("returns the logits unchanged when nothing is masked", () =>
    cpu(() => {
      const logits = tf.tensor2d([[1, 2]]);
      expect(maskAccidentalHits(logits, [3], [1, 2])).toBe(logits);
    }));
});
