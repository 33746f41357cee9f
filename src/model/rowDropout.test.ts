import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initEngine } from "../engine/backend.ts";
import { dropout, RowDropout, rowKeys } from "./rowDropout.ts";

beforeAll(async () => {
  await initEngine();
});

/** The multipliers dropout applies to a tensor of ones of `shape`. */
function maskOf(drop: RowDropout, shape: number[], rate: number): Float32Array {
  return tf.tidy(() => drop.apply(tf.ones(shape), rate).dataSync() as Float32Array);
}

describe("row-keyed dropout", () => {
  it("drops about `rate` of the elements and scales the rest by 1 / (1 − rate)", () => {
    const drop = new RowDropout(rowKeys(7, 0, [0, 1, 2, 3]), 50);
    const m = maskOf(drop, [4, 50, 64], 0.3);
    const zeros = m.filter((v) => v === 0).length;
    // 12,800 Bernoulli(0.3) draws: sd 52, so ±200 is ~4 sd.
    expect(Math.abs(zeros - 0.3 * m.length)).toBeLessThan(200);
    expect(m.every((v) => v === 0 || Math.abs(v - 1 / 0.7) < 1e-6)).toBe(true);
  });

  it("gives a row the same mask whatever rows share its batch and however long it is padded", () => {
    // Row 5 in a batch [5, 9] padded to 6 positions, and alone padded to 4: its first 4 positions
    // (all a right-padded row of 4 events has) get the same multipliers.
    const d = 8;
    const inPair = maskOf(new RowDropout(rowKeys(7, 3, [5, 9]), 10), [2, 6, d], 0.5);
    const alone = maskOf(new RowDropout(rowKeys(7, 3, [5]), 10), [1, 4, d], 0.5);
    expect(Array.from(alone)).toEqual(Array.from(inPair.subarray(0, 4 * d)));
    // The flat [B·Lb, d] layout of the same tensor gives the same mask.
    const flat = maskOf(new RowDropout(rowKeys(7, 3, [5, 9]), 10), [12, d], 0.5);
    expect(Array.from(flat)).toEqual(Array.from(inPair));
  });

  it("keys attention weights [H·B, L, L] by row and head, independently of L", () => {
    const rate = 0.5;
    const weights = (batch: number[], L: number) =>
      tf.tidy(() => {
        const drop = new RowDropout(rowKeys(1, 0, batch), 8);
        return drop.applyHeads(tf.ones([2 * batch.length, L, L]), rate, 2).arraySync() as number[][][];
      });
    const pair = weights([4, 6], 5); // head h of row b is slab h·2 + b
    const alone = weights([6], 3); // row 6 alone: slab h
    for (const h of [0, 1]) {
      for (let q = 0; q < 3; q++) expect(alone[h][q]).toEqual(pair[h * 2 + 1][q].slice(0, 3));
    }
    // Heads of one row differ (the head is part of the coordinate).
    expect(pair[0]).not.toEqual(pair[2]);
  });

  it("draws new masks at every site and every step", () => {
    const drop = new RowDropout(rowKeys(7, 0, [0]), 10);
    const first = maskOf(drop, [1, 10, 16], 0.5);
    const second = maskOf(drop, [1, 10, 16], 0.5);
    const nextStep = maskOf(new RowDropout(rowKeys(7, 1, [0]), 10), [1, 10, 16], 0.5);
    expect(Array.from(second)).not.toEqual(Array.from(first));
    expect(Array.from(nextStep)).not.toEqual(Array.from(first));
  });

  it("is the identity at inference and rate 0, and refuses a tensor that is not over its rows", () => {
    const x = tf.ones([3, 4]);
    expect(dropout(x, 0.5, undefined)).toBe(x);
    expect(dropout(x, 0, new RowDropout(rowKeys(1, 0, [0, 1, 2]), 4))).toBe(x);
    expect(() => new RowDropout(rowKeys(1, 0, [0, 1]), 4).apply(tf.ones([3, 3]), 0.5)).toThrow(
      /2 rows got 9/,
    );
    expect(() => new RowDropout(rowKeys(1, 0, [0]), 4).applyHeads(tf.ones([2, 6, 6]), 0.5, 2)).toThrow(
      /exceeds the model's 4/,
    );
  });
});
