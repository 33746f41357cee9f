import { describe, expect, it } from "vitest";
import { compileCatalog } from "./catalog.ts";
import { handWorld } from "./fixture.ts";
import { affinity, itemAppeal, smoothInterests, UtilityModel, utility } from "./utility.ts";

describe("true utility", () => {
  const world = handWorld();
  const cat = compileCatalog(world);
  const idx = (id: string) => cat.itemIndex.get(id) as number;

  it("smooths interests within families and keeps the total", () => {
    // w = [c0 .6, c1 0, c2 .4, c3 0], β = .25. Family {c0,c1}: total .6, share .25·.6/2 = .075:
    // c0 = .75·.6 + .075 = .525, c1 = .075. Family {c2}: .75·.4 + .25·.4 = .4. c3 = 0.
    const ws = smoothInterests(Float64Array.from([0.6, 0, 0.4, 0]), cat.family, cat.familyMembers, 0.25);
    expect([...ws].map((x) => +x.toFixed(12))).toEqual([0.525, 0.075, 0.4, 0]);
    expect(ws.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it("computes affinity as the confidence-weighted interest over the user's maximum", () => {
    // i1 = {c0 .8, c1 .2} with the smoothed interests above: (.8·.525 + .2·.075) / 1 / .525 = .828571…
    const ws = Float64Array.from([0.525, 0.075, 0.4, 0]);
    expect(affinity([0, 1], [0.8, 0.2], 0, 2, ws, 0.525)).toBeCloseTo(0.435 / 0.525, 12);
    expect(affinity([], [], 0, 0, ws, 0.525)).toBe(0);
    expect(affinity([0], [1], 0, 1, ws, 0)).toBe(0);
  });

  it("mixes similarity and affinity with weight λ", () => {
    // .5·.6 + .5·.8 = .7 ; .2·.6 + .8·.8 = .76
    expect(utility(0.6, 0.8, 0.5)).toBeCloseTo(0.7, 12);
    expect(utility(0.6, 0.8, 0.2)).toBeCloseTo(0.76, 12);
  });

  it("scores the hand world's request r0 (u0 looking at i0) without smoothing", () => {
    const u = new UtilityModel(cat, world.userTruth, { familySmoothing: 0 }).forRequest("u0", idx("i0"));
    // sim(i1, i0) = .8 / √(.8² + .2²) = .8 / √.68 ≈ .970143; aff(i1) = .8·.6 / .6 = .8
    // U(i1) = .5·.970143 + .5·.8 ≈ .885071
    expect(u.sim(idx("i1"))).toBeCloseTo(0.8 / Math.sqrt(0.68), 12);
    expect(u.aff(idx("i1"))).toBeCloseTo(0.8, 12);
    expect(u.of(idx("i1"))).toBeCloseTo(0.5 * (0.8 / Math.sqrt(0.68)) + 0.4, 12);
    // i3 = {c2}: sim 0, aff .4/.6; i4 = {c2 .5, c3 .5}: aff .5·.4/.6 = 1/3; i6 has no categories.
    expect(u.of(idx("i3"))).toBeCloseTo(0.5 * (0.4 / 0.6), 12);
    expect(u.of(idx("i4"))).toBeCloseTo(0.5 / 3, 12);
    expect(u.of(idx("i6"))).toBe(0);
    expect(u.of(idx("i0"))).toBeCloseTo(1, 12); // the subject itself: sim 1, aff 1
  });

  it("computes item appeal from conversion counts", () => {
    // counts 0, 2, 4: mean 2 → (n + 1) / 3 = 1/3, 1, 5/3; γ = .5 takes square roots; γ = 0 gives 1.
    const a = itemAppeal([0, 2, 4], 0.5);
    expect(a[0]).toBeCloseTo(Math.sqrt(1 / 3), 12);
    expect(a[1]).toBeCloseTo(1, 12);
    expect(a[2]).toBeCloseTo(Math.sqrt(5 / 3), 12);
    expect([...itemAppeal([0, 2, 4], 0)]).toEqual([1, 1, 1]);
  });

  it("multiplies the utility by the item's appeal", () => {
    // Counts i1: 13, others 0 → mean 13/7 = 1.857143; appeal(i1) = (14 / 2.857143)^1 = 4.9.
    const counts = new Map([["i1", 13]]);
    const model = new UtilityModel(
      cat,
      world.userTruth,
      { familySmoothing: 0, popularityExponent: 1 },
      counts,
    );
    const u = model.forRequest("u0", idx("i0"));
    expect(model.appeal[idx("i1")]).toBeCloseTo(4.9, 12);
    expect(u.of(idx("i1"))).toBeCloseTo(4.9 * (0.5 * (0.8 / Math.sqrt(0.68)) + 0.4), 12);
    // i4: appeal 1 / 2.857143 = .35; U = .35 · 1/6
    expect(u.of(idx("i4"))).toBeCloseTo(0.35 / 6, 12);
    // U(a, b, λ, appeal) = (.5·.6 + .5·.8) · 2 = 1.4
    expect(utility(0.6, 0.8, 0.5, 2)).toBeCloseTo(1.4, 12);
  });

  it("gives a user without truth zero affinity", () => {
    const u = new UtilityModel(cat, world.userTruth).forRequest("nobody", idx("i0"));
    expect(u.aff(idx("i0"))).toBe(0);
    expect(u.of(idx("i0"))).toBeCloseTo(0.5, 12);
  });

  it("rejects out-of-range weights", () => {
    expect(() => new UtilityModel(cat, world.userTruth, { contextWeight: 1.5 })).toThrow(
      "parameter contextWeight: must be in [0, 1], got 1.5",
    );
  });
});
