import { describe, expect, it } from "vitest";
import { meanInterval, ratio, tQuantile975 } from "./interval.ts";

describe("meanInterval", () => {
  it("is mean ± t(0.975, n−1) · s/√n", () => {
    // [0.2, 0.4, 0.6]: mean 0.4, s = 0.2, half-width 4.303 · 0.2 / √3 = 0.49687.
    const iv = meanInterval([0.2, 0.4, 0.6]);
    expect(iv.mean).toBeCloseTo(0.4, 12);
    expect(iv.low).toBeCloseTo(0.4 - 0.496868, 5);
    expect(iv.high).toBeCloseTo(0.4 + 0.496868, 5);
    expect(iv.n).toBe(3);
  });

  it("leaves out missing values and gives no interval below 2 values", () => {
    const iv = meanInterval([null, 0.5, Number.NaN]);
    expect(iv).toEqual({ mean: 0.5, low: null, high: null, n: 1, values: [null, 0.5, null] });
    expect(meanInterval([]).mean).toBeNull();
  });

  it("uses the t table and the normal beyond 30 degrees of freedom", () => {
    expect(tQuantile975(1)).toBe(12.706);
    expect(tQuantile975(2)).toBe(4.303);
    expect(tQuantile975(100)).toBe(1.96);
  });

  it("ratio is null without a base", () => {
    expect(ratio(1, 0)).toBeNull();
    expect(ratio(null, 1)).toBeNull();
    expect(ratio(3, 2)).toBe(1.5);
  });
});
