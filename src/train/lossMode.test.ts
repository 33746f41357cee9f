import { describe, expect, it } from "vitest";
import { Rng } from "../core/rng.ts";
import { lengthBucketedBatches, type TrainingRows } from "./examples.ts";
import {
  FULL_SOFTMAX_LOGITS,
  FULL_SOFTMAX_MAX_ITEMS,
  maxBatchPositions,
  resolveLossMode,
} from "./lossMode.ts";

describe("resolveLossMode", () => {
  it("auto: the full softmax up to the threshold, sampled above; explicit choices kept", () => {
    expect(resolveLossMode("auto", 12_102)).toBe("full");
    expect(resolveLossMode("auto", FULL_SOFTMAX_MAX_ITEMS)).toBe("full");
    expect(resolveLossMode("auto", FULL_SOFTMAX_MAX_ITEMS + 1)).toBe("sampled");
    expect(resolveLossMode("full", 10 ** 6)).toBe("full");
    expect(resolveLossMode("sampled", 10)).toBe("sampled");
    // @ts-expect-error: a bad value from an untyped caller
    expect(() => resolveLossMode("softmax", 10)).toThrow(/loss.*"auto", "full" or "sampled"/);
  });
  it("bounds a full-softmax batch's logits, never below one full row", () => {
    expect(maxBatchPositions("sampled", 12_102, 50)).toBe(Number.POSITIVE_INFINITY);
    expect(maxBatchPositions("full", 12_102, 50)).toBe(Math.floor(FULL_SOFTMAX_LOGITS / 12_101));
    expect(maxBatchPositions("full", 10 ** 7, 50)).toBe(50);
  });
});

describe("lengthBucketedBatches with a position cap", () => {
  // 40 rows of lengths 2..41 events (1..40 positives).
  const R = 40;
  const rows: TrainingRows = {
    users: Int32Array.from({ length: R }, (_, r) => r + 1),
    starts: new Int32Array(R),
    ends: Int32Array.from({ length: R }, (_, r) => r + 2),
    firsts: new Int32Array(R),
    positives: (R * (R + 1)) / 2,
  };
  const positionsOf = (r: number) => rows.ends[r] - rows.starts[r] - 1;
  it("every row exactly once; no batch over the cap or the row count", () => {
    const batches = lengthBucketedBatches(rows, 16, new Rng(1), 100);
    const seen = batches.flatMap((b) => Array.from(b)).sort((a, b) => a - b);
    expect(seen).toEqual(Array.from({ length: R }, (_, r) => r));
    for (const b of batches) {
      expect(b.length).toBeLessThanOrEqual(16);
      const padded = b.length * Math.max(...Array.from(b, positionsOf));
      expect(padded).toBeLessThanOrEqual(100);
    }
    // The shortest rows: 10 rows of ≤ 10 positives (10 × 10 = 100; an 11th would pad to 11 × 11);
    // the longest (40 positives) shares its batch with at most one row (3 × 40 > 100).
    expect(Math.max(...batches.map((b) => b.length))).toBe(10);
    expect(batches.find((b) => b.includes(R - 1))?.length).toBeLessThanOrEqual(2);
  });
  it("no cap: the same batches as before the cap existed (same rng draws)", () => {
    const capped = lengthBucketedBatches(rows, 8, new Rng(4), Number.POSITIVE_INFINITY);
    const plain = lengthBucketedBatches(rows, 8, new Rng(4));
    expect(capped).toEqual(plain);
    expect(capped.map((b) => b.length)).toEqual(Array(5).fill(8));
  });
  it("refuses a cap below one position", () => {
    expect(() => lengthBucketedBatches(rows, 8, new Rng(1), 0)).toThrow(/maxPositions/);
  });
});
