import { describe, expect, it } from "vitest";
import type { CandidateGenerator } from "./candidateGenerator.ts";
import { compileCatalog } from "./catalog.ts";
import { fixedGenerator, handWorld } from "./fixture.ts";
import { simulateFunnel } from "./simulator.ts";
import { UtilityModel } from "./utility.ts";

const fixed = fixedGenerator;

describe("simulateFunnel", () => {
  const world = handWorld();
  const cat = compileCatalog(world);
  const utility = new UtilityModel(cat, world.userTruth, { familySmoothing: 0, contextWeight: 0.5 });
  const a = fixed("A", { r0: ["i1", "i2"], r1: ["i3", "i4"] });
  const b = fixed("B", { r0: ["i1", "i4"], r1: ["i4"] });

  it("reproduces the hand-computed funnel (noise 0, K = 2, S = 1)", async () => {
    // r0 (u0, subject i0): U·bid: i1 .885071·2 = 1.770; i2 0; i4 1/6 → i1 wins, retrieved by A and B: ½ each.
    // r1 (u1 FR, subject i5 {c3}): U(i4) = .5·(.5/√.5) + .5·.5 = .603553; U(i3) = 0 (not shown); i4 wins, A and B ½ each.
    // A: recall 2/2 (i1 in r0, i3 in r1); B: 1/2. Impression shares ½ / ½ of 2.
    // Delivered: A 2 of 4 candidates, B 2 of 3.
    // Relevance A: {.970143, 0, 0, .707107} → median (0 + .707107)/2 = .353553; B: {.970143, 0, .707107} → .707107.
    const report = await simulateFunnel(world, cat, utility, [a, b], { k: 2, slots: 1, noise: 0 });
    expect(report.requests).toBe(2);
    expect(report.impressions).toBe(2);
    const [ma, mb] = report.metrics;
    expect(ma.recallAtK).toBe(1);
    expect(mb.recallAtK).toBe(0.5);
    expect(ma.impressionShare).toBe(0.5);
    expect(mb.impressionShare).toBe(0.5);
    expect(ma.deliveredShare).toBe(0.5);
    expect(mb.deliveredShare).toBeCloseTo(2 / 3, 12);
    expect(ma.relevanceMedian).toBeCloseTo(Math.SQRT1_2 / 2, 12);
    expect(mb.relevanceMedian).toBeCloseTo(Math.SQRT1_2, 12);
  });

  it("credits a CG alone with the whole impression", async () => {
    // With S = 2 in r0: i1 (1.770) then i4 (1/6, B only) → B gets ½ + 1; A gets ½.
    const c = fixed("C", { r0: ["i1", "i2"] });
    const d = fixed("D", { r0: ["i1", "i4"] });
    const report = await simulateFunnel(
      { ...world, requests: world.requests.slice(0, 1) },
      cat,
      utility,
      [c, d],
      {
        k: 2,
        slots: 2,
        noise: 0,
      },
    );
    expect(report.impressions).toBe(2);
    expect(report.metrics[0].impressionShare).toBeCloseTo(0.25, 12);
    expect(report.metrics[1].impressionShare).toBeCloseTo(0.75, 12);
  });

  it("is deterministic for a seed with noise, and reports progress", async () => {
    const progress: number[] = [];
    const run = (seed: number) =>
      simulateFunnel(world, cat, utility, [a, b], {
        k: 2,
        slots: 1,
        noise: 0.5,
        seed,
        batchSize: 1,
        onProgress: (d) => progress.push(d),
      });
    expect(await run(7)).toEqual(await run(7));
    expect(progress).toEqual([1, 2, 1, 2]);
  });

  it("rejects broken CG answers with the CG and request named", async () => {
    const run = (g: CandidateGenerator) => simulateFunnel(world, cat, utility, [g], { k: 2, noise: 0 });
    await expect(run(fixed("bad", { r0: ["nope"] }))).rejects.toThrow(
      "parameter CG bad, request r0: returned item 'nope', which is not in items.jsonl",
    );
    await expect(run(fixed("dup", { r0: ["i1", "i1"] }))).rejects.toThrow("returned item 'i1' twice");
    await expect(run(fixed("long", { r0: ["i1", "i2", "i4"] }))).rejects.toThrow("more than k = 2");
  });

  it("names the request line of an unknown subject item", async () => {
    const w = { ...world, requests: [world.requests[0], { ...world.requests[1], subjectItem: "zz" }] };
    await expect(simulateFunnel(w, cat, utility, [a], { noise: 0 })).rejects.toThrow(
      "requests.jsonl:2: subjectItem: subject item 'zz' is not in items.jsonl",
    );
  });

  it("validates its parameters", async () => {
    await expect(simulateFunnel(world, cat, utility, [a], { k: 0 })).rejects.toThrow(
      "parameter k: k must be a positive integer, got 0",
    );
    await expect(simulateFunnel(world, cat, utility, [a, a], {})).rejects.toThrow(
      "CG names must be distinct",
    );
  });
});
