import { describe, expect, it } from "vitest";
import { Rng } from "../core/rng.ts";
import {
  bootstrapColumns,
  type Column,
  differences,
  interval95,
  pointEstimate,
  quantile,
} from "./ablationStats.ts";

const col = (set: string, ...perSeed: number[][]): Column => ({
  set,
  perSeed: perSeed.map((v) => Float64Array.from(v)),
});

describe("ablation statistics", () => {
  it("point estimate is the mean over seeds of the mean over users", () => {
    // seed 1: (1 + 0 + 0 + 1) / 4 = 0.5; seed 2: (1 + 1) / 2 = 1 → (0.5 + 1) / 2 = 0.75
    expect(pointEstimate(col("loo", [1, 0, 0, 1], [1, 1]))).toBeCloseTo(0.75, 12);
  });

  it("quantile interpolates between order statistics", () => {
    // sorted 1,2,3,4,5; q = 0.25 → position 1 → 2; q = 0.1 → position 0.4 → 1 + 0.4·(2 − 1) = 1.4
    expect(quantile([5, 1, 4, 2, 3], 0.25)).toBeCloseTo(2, 12);
    expect(quantile([5, 1, 4, 2, 3], 0.1)).toBeCloseTo(1.4, 12);
  });

  it("a constant column has a zero-width interval; paired columns that differ by a constant have a zero-width Δ interval", () => {
    const a = col("loo", [0.2, 0.9, 0.4, 0.7]);
    const b = col("loo", [0.1, 0.8, 0.3, 0.6]); // a − b = 0.1 for every user
    const c = col("loo", [0.5, 0.5, 0.5, 0.5]);
    const reps = bootstrapColumns(
      new Map([
        ["a", a],
        ["b", b],
        ["c", c],
      ]),
      200,
      new Rng(7),
    );
    const [cl, ch] = interval95(reps.get("c") as Float64Array);
    expect(cl).toBeCloseTo(0.5, 12);
    expect(ch).toBeCloseTo(0.5, 12);
    // Same draws for a and b: every replicate of a − b is exactly 0.1 (up to float rounding).
    const [dl, dh] = interval95(differences(reps.get("a") as Float64Array, reps.get("b") as Float64Array));
    expect(dl).toBeCloseTo(0.1, 10);
    expect(dh).toBeCloseTo(0.1, 10);
    // The marginal interval of a is not degenerate and contains its mean 0.55.
    const [al, ah] = interval95(reps.get("a") as Float64Array);
    expect(al).toBeLessThan(0.55);
    expect(ah).toBeGreaterThan(0.55);
  });

  it("columns of different user sets are drawn independently (unpaired Δ interval is wider than 0)", () => {
    const a = col("stale:3600", [0.2, 0.9, 0.4, 0.7]);
    const b = col("stale:86400", [0.1, 0.8, 0.3, 0.6]);
    const reps = bootstrapColumns(
      new Map([
        ["a", a],
        ["b", b],
      ]),
      200,
      new Rng(7),
    );
    const [dl, dh] = interval95(differences(reps.get("a") as Float64Array, reps.get("b") as Float64Array));
    expect(dh - dl).toBeGreaterThan(0.05);
  });

  it("is deterministic for a seed and refuses columns of one set with different users", () => {
    const cols = new Map([["a", col("loo", [0, 1, 1], [1, 0])]]);
    expect(bootstrapColumns(cols, 50, new Rng(3)).get("a")).toEqual(
      bootstrapColumns(cols, 50, new Rng(3)).get("a"),
    );
    const bad = new Map([
      ["a", col("loo", [0, 1, 1])],
      ["b", col("loo", [0, 1])],
    ]);
    expect(() => bootstrapColumns(bad, 10, new Rng(1))).toThrow(/same seeds and users/);
  });
});
