import { describe, expect, it } from "vitest";
import { Rng } from "../core/rng.ts";
import {
  aliasDraw,
  buildAliasTables,
  childRng,
  drawDistinct,
  exponential,
  gamma,
  poisson,
  shuffledZipf,
} from "./sampling.ts";

describe("alias tables", () => {
  it("draw each value in proportion to its weight, per table", () => {
    // Table 0: values 10, 11, 12 with weights 1, 2, 5 → probabilities 1/8, 2/8, 5/8.
    // Table 1: values 20, 21 with weights 0, 3 → 21 always. Table 2: empty.
    const tables = buildAliasTables(
      Int32Array.of(0, 3, 5, 5),
      Int32Array.of(10, 11, 12, 20, 21),
      Float64Array.of(1, 2, 5, 0, 3),
    );
    const rng = new Rng(7);
    const n = 80_000;
    const counts = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const v = aliasDraw(tables, 0, rng);
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    // Standard error of a share p over 80k draws ≤ 0.0018; allow ±0.01.
    expect((counts.get(10) ?? 0) / n).toBeCloseTo(0.125, 1);
    expect(Math.abs((counts.get(10) ?? 0) / n - 0.125)).toBeLessThan(0.01);
    expect(Math.abs((counts.get(11) ?? 0) / n - 0.25)).toBeLessThan(0.01);
    expect(Math.abs((counts.get(12) ?? 0) / n - 0.625)).toBeLessThan(0.01);
    for (let i = 0; i < 100; i++) expect(aliasDraw(tables, 1, rng)).toBe(21);
  });

  it("fall back to uniform when a row's weights are all zero", () => {
    const tables = buildAliasTables(Int32Array.of(0, 2), Int32Array.of(3, 4), Float64Array.of(0, 0));
    const rng = new Rng(1);
    let threes = 0;
    for (let i = 0; i < 10_000; i++) if (aliasDraw(tables, 0, rng) === 3) threes++;
    expect(Math.abs(threes / 10_000 - 0.5)).toBeLessThan(0.03);
  });
});

describe("childRng", () => {
  it("is reproducible per label and uncorrelated between neighbouring labels", () => {
    expect(childRng(5, "user:1").float()).toBe(childRng(5, "user:1").float());
    // First draws of user:0 … user:1999 should look uniform: mean ≈ 0.5 (sd of the mean ≈ 0.0065).
    let sum = 0;
    let below = 0;
    for (let u = 0; u < 2000; u++) {
      const x = childRng(5, `user:${u}`).float();
      sum += x;
      if (x < 0.1) below++;
    }
    expect(Math.abs(sum / 2000 - 0.5)).toBeLessThan(0.03);
    // ≈ 200 of 2000 below 0.1 (sd ≈ 13).
    expect(below).toBeGreaterThan(150);
    expect(below).toBeLessThan(250);
  });
});

describe("distributions", () => {
  const mean = (f: () => number, n = 20_000) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += f();
    return s / n;
  };

  it("gamma has mean equal to its shape (above and below 1)", () => {
    const rng = new Rng(3);
    expect(Math.abs(mean(() => gamma(rng, 2.5)) - 2.5)).toBeLessThan(0.06);
    expect(Math.abs(mean(() => gamma(rng, 0.3)) - 0.3)).toBeLessThan(0.02);
  });

  it("poisson and exponential have the requested means", () => {
    const rng = new Rng(4);
    expect(Math.abs(mean(() => poisson(rng, 1.5)) - 1.5)).toBeLessThan(0.04);
    expect(poisson(rng, 0)).toBe(0);
    expect(Math.abs(mean(() => exponential(rng, 600)) - 600)).toBeLessThan(15);
  });

  it("shuffledZipf holds the weights 1/rank^s in shuffled order", () => {
    // s = 1 over 4 things: {1, 1/2, 1/3, 1/4} in some order.
    const w = [...shuffledZipf(4, 1, new Rng(9))].sort((a, b) => b - a);
    expect(w).toEqual([1, 1 / 2, 1 / 3, 1 / 4]);
  });

  it("drawDistinct never repeats and skips zero weights", () => {
    const picks = drawDistinct([0, 1, 1, 0, 1], 5, new Rng(2));
    expect(picks.sort()).toEqual([1, 2, 4]);
  });
});
