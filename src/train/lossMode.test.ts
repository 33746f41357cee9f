import { describe, expect, it } from "vitest";
import { Rng } from "../core/rng.ts";
import { BATCHINGS, epochBatches, lengthBucketedBatches, type TrainingRows } from "./examples.ts";
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

describe("epochBatches", () => {
  // 200 rows of 1..40 positives (lengths cycle), so every length has several rows.
  const R = 200;
  const rows: TrainingRows = {
    users: Int32Array.from({ length: R }, (_, r) => r + 1),
    starts: new Int32Array(R),
    ends: Int32Array.from({ length: R }, (_, r) => (r % 40) + 2),
    firsts: new Int32Array(R),
    positives: Array.from({ length: R }, (_, r) => (r % 40) + 1).reduce((a, b) => a + b),
  };
  const positionsOf = (r: number) => rows.ends[r] - rows.starts[r] - 1;
  const sum = (b: Int32Array) => Array.from(b, positionsOf).reduce((x, y) => x + y, 0);
  const longest = (b: Int32Array) => Math.max(...Array.from(b, positionsOf));
  const span = (b: Int32Array) => longest(b) - Math.min(...Array.from(b, positionsOf));
  const asSets = (bs: Int32Array[]) =>
    bs
      .map((b) =>
        Array.from(b)
          .sort((x, y) => x - y)
          .join(","),
      )
      .sort();

  it.each(BATCHINGS)("%s: every row exactly once, seeded, other batches the next epoch", (kind) => {
    const a = new Rng(7);
    const first = epochBatches(kind, rows, 8, a, 150);
    const seen = first.flatMap((b) => Array.from(b)).sort((x, y) => x - y);
    expect(seen).toEqual(Array.from({ length: R }, (_, r) => r));
    expect(epochBatches(kind, rows, 8, new Rng(7), 150)).toEqual(first);
    expect(asSets(epochBatches(kind, rows, 8, a, 150))).not.toEqual(asSets(first));
  });
  it("shuffled: rows of all lengths mixed, real positions under the cap", () => {
    const batches = epochBatches("shuffled", rows, 8, new Rng(1), 150);
    for (const b of batches) {
      expect(b.length).toBeLessThanOrEqual(8);
      if (b.length > 1) expect(sum(b)).toBeLessThanOrEqual(150);
    }
    expect(Math.max(...batches.map(span))).toBeGreaterThan(20);
  });
  it("positions: about batchSize rows' worth of positions in every batch, however long its rows", () => {
    const budget = (8 * rows.positives) / R; // 8 × 20.5 = 164
    const batches = epochBatches("positions", rows, 8, new Rng(2));
    for (const b of batches) {
      expect(sum(b)).toBeLessThanOrEqual(budget);
      expect(b.length * longest(b)).toBeGreaterThan(0);
    }
    // Every batch but the last of the sorted order is filled to within one row of the budget.
    const short = batches.filter((b) => sum(b) < budget - 41);
    expect(short.length).toBeLessThanOrEqual(1);
    // Short rows share a batch with many more users than long rows do.
    const withShortest = batches.find((b) => b.includes(0)) as Int32Array;
    const withLongest = batches.find((b) => b.includes(39)) as Int32Array;
    expect(withShortest.length).toBeGreaterThan(8);
    expect(withLongest.length).toBeLessThan(8);
  });
  it("pooled: length-sorted within pools of random rows, so less padding than shuffled", () => {
    const pad = (bs: Int32Array[]) => bs.reduce((t, b) => t + b.length * longest(b) - sum(b), 0);
    const pooled = epochBatches("pooled", rows, 2, new Rng(3));
    const shuffled = epochBatches("shuffled", rows, 2, new Rng(3));
    const length = epochBatches("length", rows, 2, new Rng(3));
    expect(pad(pooled)).toBeLessThan(pad(shuffled));
    expect(pad(length)).toBeLessThanOrEqual(pad(pooled));
    for (const b of pooled) expect(b.length).toBeLessThanOrEqual(2);
  });
  it("length is lengthBucketedBatches; bad arguments are refused", () => {
    expect(epochBatches("length", rows, 8, new Rng(4))).toEqual(lengthBucketedBatches(rows, 8, new Rng(4)));
    expect(() => epochBatches("shuffled", rows, 8, new Rng(1), 0)).toThrow(/maxPositions/);
    // @ts-expect-error: a bad value from an untyped caller
    expect(() => epochBatches("random", rows, 8, new Rng(1))).toThrow(/batching.*length, positions/);
  });
});
