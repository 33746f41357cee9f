import { describe, expect, it } from "vitest";
import { noisyEstimate, rankerNoise, runAuction } from "./auction.ts";

describe("runAuction", () => {
  // Scores Û·bid: A 0.5·2 = 1.0; B 0.9·1 = 0.9; C 0.8·3 = 2.4 but ineligible; D −0.1·5 = −0.5
  // (never shown); E 0.3·3 = 0.9, tied with B: B has the lower item index (1 < 4) so it goes first.
  const entries = [
    { item: 0, estimate: 0.5, bid: 2, eligible: true }, // A
    { item: 4, estimate: 0.3, bid: 3, eligible: true }, // E
    { item: 2, estimate: 0.8, bid: 3, eligible: false }, // C
    { item: 3, estimate: -0.1, bid: 5, eligible: true }, // D
    { item: 1, estimate: 0.9, bid: 1, eligible: true }, // B
  ];

  it("fills the slots with the highest eligible positive scores", () => {
    expect(runAuction(entries, 2)).toEqual([0, 4]); // A, B
    expect(runAuction(entries, 3)).toEqual([0, 4, 1]); // A, B, E
  });

  it("leaves slots empty rather than show ineligible or worthless items", () => {
    expect(runAuction(entries, 10)).toEqual([0, 4, 1]);
    expect(runAuction([], 3)).toEqual([]);
  });

  it("does not depend on the order of the entries", () => {
    const reversed = [...entries].reverse();
    expect(runAuction(reversed, 3).map((p) => reversed[p].item)).toEqual([0, 1, 4]);
  });
});

describe("ranker noise", () => {
  it("is a function of (seed, request, item) only", () => {
    expect(rankerNoise(1, "r0", "i1")).toBe(rankerNoise(1, "r0", "i1"));
    expect(rankerNoise(1, "r0", "i1")).not.toBe(rankerNoise(1, "r0", "i2"));
    expect(rankerNoise(1, "r0", "i1")).not.toBe(rankerNoise(1, "r1", "i1"));
    expect(rankerNoise(1, "r0", "i1")).not.toBe(rankerNoise(2, "r0", "i1"));
  });

  it("is standard normal over many items", () => {
    let s = 0;
    let s2 = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const z = rankerNoise(5, "r", `i${i}`);
      s += z;
      s2 += z * z;
    }
    expect(s / n).toBeCloseTo(0, 1);
    expect(s2 / n).toBeCloseTo(1, 1);
  });

  it("multiplies the true utility by exp(σ·z)", () => {
    // 0.4 · exp(0.5 · ln 2 / 0.5) = 0.4 · 2 = 0.8 ; 0 stays 0
    expect(noisyEstimate(0.4, 0.5, Math.LN2 / 0.5)).toBeCloseTo(0.8, 12);
    expect(noisyEstimate(0, 0.5, 3)).toBe(0);
  });
});
