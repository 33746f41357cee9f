/**
 * Search through the simulator on the hand world: the query's categories replace the subject
 * item's for relevance and for the context-only CG, and nothing is left out as a subject.
 */
import { describe, expect, it } from "vitest";
import type { World } from "../synth/types.ts";
import { compileCatalog } from "./catalog.ts";
import { handWorld } from "./fixture.ts";
import { runReferenceFunnel } from "./referenceFunnel.ts";
import { searchFunnelRequests } from "./surface.ts";

function searchWorld(): World {
  const w = handWorld();
  return {
    ...w,
    // s0: u0 searches "t0" (→ c0), next i1; the same user and target as r0, but no subject item.
    search: [{ id: "s0", user: "u0", query: ["t0"], time: 100, next: { item: "i1", timestamp: 200 } }],
    lexicon: new Map([["t0", { token: "t0", categories: [{ id: "c0", confidence: 1 }] }]]),
  };
}

describe("Search surface in the funnel", () => {
  it("resolves query tokens to categories", () => {
    expect(searchFunnelRequests(searchWorld())[0].categories).toEqual([{ id: "c0", confidence: 1 }]);
    expect(() => searchFunnelRequests(handWorld())).toThrow(/ctxrec synth --search/);
  });

  it("measures relevance against the query's categories", async () => {
    const w = searchWorld();
    const report = await runReferenceFunnel(w, {
      surface: "search",
      k: 2,
      slots: 1,
      noise: 0,
      eventCounts: new Map(),
    });
    const ctxOnly = report.metrics.find((m) => m.name === "context-only");
    // Query vector c0: cos(i0 {c0:1}) = 1, cos(i1 {c0:.8, c1:.2}) = .8/√.68 = 0.9701; i0 is not
    // left out (no subject), so context-only returns [i0, i1]: median (1 + 0.9701)/2 = 0.98507.
    expect(ctxOnly?.relevanceMedian).toBeCloseTo(0.985071, 5);
    expect(ctxOnly?.recallAtK).toBe(1);
    expect(report.requests).toBe(1);
    expect(compileCatalog(w).itemIds).toHaveLength(7);
  });
});
