import { describe, expect, it } from "vitest";
import { deriveSeed, Rng } from "./rng.ts";

describe("Rng", () => {
  it("gives the same stream for the same seed and another for another seed", () => {
    const draw = (seed: number) => {
      const r = new Rng(seed);
      return Array.from({ length: 5 }, () => r.float());
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
  });

  it("draws weighted indices in proportion to the weights", () => {
    const r = new Rng(1);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) counts[r.weighted([1, 2, 0])]++;
    expect(counts[2]).toBe(0);
    // Expected shares 1/3 and 2/3; 30k draws give a standard error of ~0.003.
    expect(counts[0] / 30_000).toBeCloseTo(1 / 3, 1);
    expect(counts[1] / 30_000).toBeCloseTo(2 / 3, 1);
  });

  it("draws standard normals with mean 0 and variance 1", () => {
    const r = new Rng(7);
    let s = 0;
    let s2 = 0;
    const n = 50_000;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
    }
    expect(s / n).toBeCloseTo(0, 1);
    expect(s2 / n).toBeCloseTo(1, 1);
  });

  it("derives distinct stable child seeds per label", () => {
    expect(deriveSeed(1, "items")).toBe(deriveSeed(1, "items"));
    expect(deriveSeed(1, "items")).not.toBe(deriveSeed(1, "users"));
    expect(deriveSeed(1, "items")).not.toBe(deriveSeed(2, "items"));
  });
});

describe("Rng seeding", () => {
  it("decorrelates the first draws of nearby seeds", () => {
    // Unmixed xoroshiro128+ returns ~seed first: seeds 1..200 would all start near 1.0.
    const firsts = Array.from({ length: 200 }, (_, s) => new Rng(s + 1).float());
    const mean = firsts.reduce((a, b) => a + b, 0) / firsts.length;
    // Uniform draws: mean 0.5 with standard error 0.29/√200 ≈ 0.02.
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.1);
    expect(Math.min(...firsts)).toBeLessThan(0.1);
    expect(Math.max(...firsts)).toBeGreaterThan(0.9);
  });
});
