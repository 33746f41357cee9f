/**
 * The competition figures on the hand world (src/funnel/fixture.ts), computed by hand: two CGs
 * with fixed pools through the simulator, the per-CG JSON and its identities (delivered shares sum
 * to 1, exclusive + shared shares sum to 1, marginal recall = recall(all) − recall(all but c)).
 */
import { describe, expect, it } from "vitest";
import { compileCatalog } from "./catalog.ts";
import { competitionDocument, competitionMetricsJson, formatCompetitionTable } from "./competition.ts";
import { fixedGenerator, handWorld } from "./fixture.ts";
import { simulateFunnel } from "./simulator.ts";
import { UtilityModel } from "./utility.ts";

const world = handWorld();
const cat = compileCatalog(world);
const utility = new UtilityModel(cat, world.userTruth, { familySmoothing: 0, contextWeight: 0.5 });
// The pools of simulator.test.ts: r0 (target i1) A [i1, i2], B [i1, i4]; r1 (target i3) A [i3, i4], B [i4].
const a = fixedGenerator("A", { r0: ["i1", "i2"], r1: ["i3", "i4"] });
const b = fixedGenerator("B", { r0: ["i1", "i4"], r1: ["i4"] });
const run = (cgs = [a, b], slots = 1) => simulateFunnel(world, cat, utility, cgs, { k: 2, slots, noise: 0 });

describe("the funnel with competing pools", () => {
  it("reproduces the hand-computed pool, exclusive counts and marginal recall (S = 1)", async () => {
    // Merged pools: r0 {i1: A B, i2: A, i4: B} (3 items), r1 {i3: A, i4: A B} (2) → pool 5.
    // Winners (simulator.test.ts): r0 i1, r1 i4; both shared by A and B.
    // Targets: r0 i1 (A and B) → no marginal CG; r1 i3 (A alone) → A's marginal hit.
    // A: 4 candidates, exclusive 2 (i2 in r0, i3 in r1), delivered 2, exclusively 0, recall 1, marginal ½.
    // B: 3 candidates, exclusive 1 (i4 in r0), delivered 2, exclusively 0, recall ½, marginal 0.
    const report = await run();
    expect(report.pool).toEqual({ candidates: 5, recallAtK: 1 });
    const [ma, mb] = report.metrics;
    expect([ma.candidates, ma.exclusiveCandidates, ma.delivered, ma.exclusiveDelivered]).toEqual([
      4, 2, 2, 0,
    ]);
    expect([mb.candidates, mb.exclusiveCandidates, mb.delivered, mb.exclusiveDelivered]).toEqual([
      3, 1, 2, 0,
    ]);
    expect(ma.marginalRecallAtK).toBe(0.5);
    expect(mb.marginalRecallAtK).toBe(0);

    const json = competitionMetricsJson(report);
    expect(json.A).toEqual({
      candidates: 4,
      candidates_exclusive: 2,
      survival_to_impression: 0.5, // 2 of 4 shown
      delivered: 2,
      delivered_exclusive: 0,
      delivered_share: 0.5, // ½ + ½ of 2 impressions
      delivered_share_exclusive: 0,
      "recall@2": 1,
      "marginal_recall@2": 0.5,
    });
    expect(json.B.survival_to_impression).toBeCloseTo(2 / 3, 12);
    expect(json.B.delivered_share).toBe(0.5);
  });

  it("marginal recall is recall(all pools) − recall(all pools but c)", async () => {
    // Alone: A's pool recall 1 (i1, i3), B's ½ (i1). All: 1. A: 1 − ½ = ½; B: 1 − 1 = 0.
    const all = (await run()).pool.recallAtK;
    const onlyA = (await run([a])).pool.recallAtK;
    const onlyB = (await run([b])).pool.recallAtK;
    const [ma, mb] = (await run()).metrics;
    expect(ma.marginalRecallAtK).toBe(all - onlyB);
    expect(mb.marginalRecallAtK).toBe(all - onlyA);
  });

  it("credits an item only one CG returned exclusively (S = 2)", async () => {
    // S = 2: r0 shows i1 (A, B) then i4 (B alone: U·bid 1/6 > i2's 0); r1 shows only i4 (A, B):
    // U(i3) = 0 there (simulator.test.ts) and a score of 0 never wins. 3 impressions.
    // B: delivered 3, exclusively 1 → shares: delivered ½ + 1 + ½ = 2 of 3, exclusive 1/3. A: ½ + ½ = 1/3.
    const report = await run([a, b], 2);
    expect(report.impressions).toBe(3);
    const json = competitionMetricsJson(report);
    expect(json.B.delivered_exclusive).toBe(1);
    expect(json.B.delivered_share_exclusive).toBeCloseTo(1 / 3, 12);
    expect(json.B.delivered_share).toBeCloseTo(2 / 3, 12);
    expect(json.A.delivered_share).toBeCloseTo(1 / 3, 12);
    // Shares sum to 1 over the CGs; exclusive shares plus the shared impressions' share (2 of 3) too.
    expect((json.A.delivered_share ?? 0) + (json.B.delivered_share ?? 0)).toBeCloseTo(1, 12);
    expect(
      (json.A.delivered_share_exclusive ?? 0) + (json.B.delivered_share_exclusive ?? 0) + 2 / 3,
    ).toBeCloseTo(1, 12);
  });

  it("writes the document and the table with one row per CG and the merged pool", async () => {
    const report = await run();
    const doc = competitionDocument(
      { related: { ...report, utility: { contextWeight: 0.5, familySmoothing: 0, popularityExponent: 0 } } },
      "/w",
      { A: { contextual: true }, B: { contextual: false } },
    );
    expect(doc.protocol).toBe("funnel-competition");
    expect(doc.surfaces.related.pool).toEqual({ candidates: 5, "recall@2": 1 });
    expect(Object.keys(doc.surfaces.related.metrics)).toEqual(["A", "B"]);
    const table = formatCompetitionTable(report);
    expect(table).toMatch(/^A\s+4\s+2\s+0\.5000\s+0\.5000\s+0\.0000\s+1\.0000\s+0\.5000$/m);
    expect(table).toMatch(/^\(merged pool\)\s+5\s+1\.0000$/m);
  });
});
