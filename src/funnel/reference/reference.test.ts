import { describe, expect, it } from "vitest";
import { Rng } from "../../core/rng.ts";
import { type CandidateRequest, toCandidateRequest } from "../candidateGenerator.ts";
import { compileCatalog } from "../catalog.ts";
import { handWorld } from "../fixture.ts";
import { UtilityModel } from "../utility.ts";
import { createContextOnlyGenerator } from "./contextOnly.ts";
import { createOracleGenerator } from "./oracle.ts";
import { createPopularityGenerator } from "./popularity.ts";
import { createRandomGenerator, sampleDistinct } from "./random.ts";

const world = handWorld();
const cat = compileCatalog(world);
// r0: user u0 (US) looking at i0; i3 is FR-only, so ineligible.
const r0: CandidateRequest = toCandidateRequest(world.requests[0], world.users[0]);
const ids = (xs: { item: string }[]) => xs.map((x) => x.item);

describe("random CG", () => {
  it("draws k distinct eligible items other than the subject, the same for the same seed", async () => {
    for (const seed of [1, 2, 3]) {
      const [got] = await createRandomGenerator(cat, seed).retrieveMany([r0], 4);
      expect(got).toHaveLength(4);
      expect(new Set(ids(got)).size).toBe(4);
      for (const id of ids(got)) expect(["i1", "i2", "i4", "i5", "i6"]).toContain(id);
      const [again] = await createRandomGenerator(cat, seed).retrieveMany([r0], 4);
      expect(again).toEqual(got);
    }
  });

  it("returns every eligible item when k exceeds them", async () => {
    const [got] = await createRandomGenerator(cat, 1).retrieveMany([r0], 50);
    expect(ids(got).sort()).toEqual(["i1", "i2", "i4", "i5", "i6"]);
  });

  it("samples distinct integers uniformly (Floyd)", () => {
    const rng = new Rng(9);
    const counts = new Array(10).fill(0);
    for (let t = 0; t < 5000; t++) {
      const s = sampleDistinct(10, 3, rng);
      expect(new Set(s).size).toBe(3);
      for (const x of s) counts[x]++;
    }
    // Each integer is picked with probability 3/10: expected 1500 of 5000 draws (sd ≈ 32).
    for (const c of counts) expect(Math.abs(c - 1500)).toBeLessThan(150);
  });
});

describe("popularity CG", () => {
  it("ranks by conversions, skipping the subject and ineligible items", async () => {
    const counts = new Map([
      ["i5", 10],
      ["i3", 7],
      ["i1", 5],
      ["i0", 5],
      ["i2", 1],
    ]);
    // i5 (10); i3 (7) is FR-only → skipped for u0; i1 (5); i0 (5) is the subject → skipped; i2 (1).
    const [got] = await createPopularityGenerator(cat, counts, 1).retrieveMany([r0], 3);
    expect(got).toEqual([
      { item: "i5", score: 10 },
      { item: "i1", score: 5 },
      { item: "i2", score: 1 },
    ]);
  });
});

describe("context-only CG", () => {
  it("puts the items nearest to the subject first, then fills with unrelated eligible items", async () => {
    const [got] = await createContextOnlyGenerator(cat, 1).retrieveMany([r0], 4);
    // Only i1 shares a category with i0: cos = .8/√.68 ≈ .970143. The rest score 0.
    expect(got[0].item).toBe("i1");
    expect(got[0].score).toBeCloseTo(0.8 / Math.sqrt(0.68), 12);
    expect(got.slice(1).every((s) => s.score === 0)).toBe(true);
    expect(got).toHaveLength(4);
    expect(new Set(ids(got)).size).toBe(4);
    expect(ids(got)).not.toContain("i0");
    expect(ids(got)).not.toContain("i3");
  });

  it("orders several related items by cosine", async () => {
    // u1 (FR) looking at i4 {c2 .5, c3 .5}: i3 {c2} and i5 {c3} both have cos .5/√.5 ≈ .7071.
    const r: CandidateRequest = { id: "x", user: "u1", subjectItem: "i4", time: 0, country: "FR" };
    const [got] = await createContextOnlyGenerator(cat, 1).retrieveMany([r], 2);
    expect(ids(got).sort()).toEqual(["i3", "i5"]);
    expect(got[0].score).toBeCloseTo(Math.SQRT1_2, 12);
  });
});

describe("oracle CG", () => {
  it("ranks by the true utility U (not by the bid)", async () => {
    const utility = new UtilityModel(cat, world.userTruth, { familySmoothing: 0 });
    const [got] = await createOracleGenerator(cat, utility, 1).retrieveMany([r0], 2);
    // U(i1) = .5·.970143 + .5·.8 ≈ .885071; U(i4) = .5·(1/3) = 1/6; i3 (U = 1/3) is ineligible in US;
    // i2, i5, i6 have U = 0.
    expect(ids(got)).toEqual(["i1", "i4"]);
    expect(got[0].score).toBeCloseTo(0.5 * (0.8 / Math.sqrt(0.68)) + 0.4, 12);
    expect(got[1].score).toBeCloseTo(1 / 6, 12);
  });
});
