import { describe, expect, it } from "vitest";
import { attributeImpressions, CgAccumulator } from "./metrics.ts";

describe("impression attribution", () => {
  it("splits each impression evenly among the CGs that retrieved it", () => {
    // Winner 1 by CG 0 alone → 1; winner 2 by CGs 0 and 1 → ½ each; winner 3 by 1, 2, 3 → ⅓ each.
    const c = attributeImpressions([[0], [0, 1], [1, 2, 3]], 4);
    expect(c[0]).toBeCloseTo(1.5, 12);
    expect(c[1]).toBeCloseTo(0.5 + 1 / 3, 12);
    expect(c[2]).toBeCloseTo(1 / 3, 12);
    expect(c[3]).toBeCloseTo(1 / 3, 12);
    expect(c.reduce((a, b) => a + b, 0)).toBeCloseTo(3, 12); // one credit per impression
  });
});

describe("CgAccumulator", () => {
  it("turns sums into recall, relevance median and survival shares", () => {
    const a = new CgAccumulator("cg", 3);
    const none = { exclusiveCandidates: 0, exclusiveDelivered: 0, marginalHit: false };
    a.add({ hit: true, relevance: [0.9, 0.1, 0.5], delivered: 1, credit: 0.5, ...none });
    a.add({ hit: false, relevance: [0.2], delivered: 0, credit: 0, ...none, exclusiveCandidates: 1 });
    // recall 1/2; relevance {.9,.1,.5,.2} → median (.2+.5)/2 = .35, mean 1.7/4 = .425;
    // delivered 1 of 4 candidates; impression share .5 of 4 impressions = .125.
    const m = a.finish(4);
    expect(m.recallAtK).toBe(0.5);
    expect(m.relevanceMedian).toBeCloseTo(0.35, 12);
    expect(m.relevanceMean).toBeCloseTo(0.425, 12);
    expect(m.deliveredShare).toBe(0.25);
    expect(m.impressionShare).toBe(0.125);
    expect(m.candidates).toBe(4);
    expect(m.exclusiveCandidates).toBe(1);
    expect(m.marginalRecallAtK).toBe(0);
  });
});
