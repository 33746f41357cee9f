import { describe, expect, it } from "vitest";
import { creditImpressions, exclusiveCounts, mergePools, type Pools, targetHits } from "./pools.ts";

// Three CGs on one request: CG 0 [1, 2, 3], CG 1 [3, 4], CG 2 [5, 3, 1].
// Merged pool: 1 → {0, 2}, 2 → {0}, 3 → {0, 1, 2}, 4 → {1}, 5 → {2}; five items, each once.
const pools: Pools = [
  [1, 2, 3],
  [3, 4],
  [5, 3, 1],
];

describe("mergePools", () => {
  it("is the union without duplicates, each item with the CGs that returned it", () => {
    const merged = mergePools(pools);
    expect([...merged.keys()]).toEqual([1, 2, 3, 4, 5]); // first appearance, CG 0's list first
    expect(Object.fromEntries(merged)).toEqual({ 1: [0, 2], 2: [0], 3: [0, 1, 2], 4: [1], 5: [2] });
  });

  it("handles empty pools and a single CG", () => {
    expect(mergePools([]).size).toBe(0);
    expect(mergePools([[], [7]]).get(7)).toEqual([1]);
    expect(Object.fromEntries(mergePools([[4, 2]]))).toEqual({ 4: [0], 2: [0] });
  });
});

describe("exclusiveCounts", () => {
  it("counts the items only one CG returned", () => {
    // 2 only CG 0, 4 only CG 1, 5 only CG 2; 1 and 3 are shared.
    expect([...exclusiveCounts(mergePools(pools), 3)]).toEqual([1, 1, 1]);
  });
});

describe("creditImpressions", () => {
  it("credits each retriever fully, the only retriever exclusively, and 1/m shared", () => {
    // Winners 3 (CGs 0, 1, 2), 2 (CG 0), 5 (CG 2).
    // delivered: CG 0 {3, 2} = 2, CG 1 {3} = 1, CG 2 {3, 5} = 2.
    // exclusive: CG 0 {2} = 1, CG 1 0, CG 2 {5} = 1.
    // shared: CG 0 ⅓ + 1 = 4/3, CG 1 ⅓, CG 2 ⅓ + 1 = 4/3; sum 3 = the impressions.
    const c = creditImpressions([3, 2, 5], mergePools(pools), 3);
    expect([...c.delivered]).toEqual([2, 1, 2]);
    expect([...c.exclusive]).toEqual([1, 0, 1]);
    expect(c.shared[0]).toBeCloseTo(4 / 3, 12);
    expect(c.shared[1]).toBeCloseTo(1 / 3, 12);
    expect(c.shared[2]).toBeCloseTo(4 / 3, 12);
    expect(c.shared.reduce((a, b) => a + b, 0)).toBeCloseTo(3, 12);
  });

  it("gives nothing for no winners", () => {
    const c = creditImpressions([], mergePools(pools), 3);
    expect([...c.delivered, ...c.exclusive, ...c.shared]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe("targetHits", () => {
  const merged = mergePools(pools);
  it("marks the marginal CG when only one pool holds the target", () => {
    const h = targetHits(merged, 4, 3); // only CG 1 returned 4
    expect(h.pool).toBe(true);
    expect([...h.own]).toEqual([0, 1, 0]);
    expect([...h.marginal]).toEqual([0, 1, 0]);
  });
  it("marks no marginal CG when two pools hold it, and no hit for a missed or unknown target", () => {
    const h = targetHits(merged, 1, 3); // CGs 0 and 2
    expect([...h.own]).toEqual([1, 0, 1]);
    expect([...h.marginal]).toEqual([0, 0, 0]);
    expect(targetHits(merged, 9, 3).pool).toBe(false);
    expect(targetHits(merged, undefined, 3).pool).toBe(false);
  });
});

/** Reference: recall of the union of the pools of `cgs` over requests, by its definition. */
function unionRecall(requests: readonly Pools[], targets: readonly number[], cgs: readonly number[]): number {
  let hits = 0;
  requests.forEach((p, r) => {
    if (cgs.some((g) => p[g].includes(targets[r]))) hits++;
  });
  return hits / requests.length;
}

describe("marginal recall = recall(all pools) − recall(all pools but c)", () => {
  // r0: the pools above, target 4 (CG 1 alone);  r1: [7] [] [7, 8], target 8 (CG 2 alone);
  // r2: [1] [1] [], target 1 (CGs 0 and 1);       r3: [1] [2] [3], target 6 (nobody).
  const requests: Pools[] = [pools, [[7], [], [7, 8]], [[1], [1], []], [[1], [2], [3]]];
  const targets = [4, 8, 1, 6];

  it("matches the definition on hand-built requests", () => {
    // recall(all) = 3/4. Without CG 0: r0 ✓ (4 in CG 1), r1 ✓, r2 ✓ (CG 1 has 1) → 3/4 → marginal 0.
    // Without CG 1: r0 ✗, r1 ✓, r2 ✓ → 2/4 → marginal 1/4. Without CG 2: r0 ✓, r1 ✗, r2 ✓ → marginal 1/4.
    // Own recall: CG 0 1/4 (r2), CG 1 2/4 (r0, r2), CG 2 1/4 (r1).
    const marginal = [0, 0, 0];
    const own = [0, 0, 0];
    let pool = 0;
    requests.forEach((p, r) => {
      const h = targetHits(mergePools(p), targets[r], 3);
      if (h.pool) pool++;
      for (let g = 0; g < 3; g++) {
        marginal[g] += h.marginal[g] / requests.length;
        own[g] += h.own[g] / requests.length;
      }
    });
    expect(pool / requests.length).toBe(0.75);
    expect(marginal).toEqual([0, 0.25, 0.25]);
    expect(own).toEqual([0.25, 0.5, 0.25]);
    const all = unionRecall(requests, targets, [0, 1, 2]);
    for (let g = 0; g < 3; g++) {
      const others = [0, 1, 2].filter((x) => x !== g);
      expect(marginal[g]).toBeCloseTo(all - unionRecall(requests, targets, others), 12);
      expect(marginal[g]).toBeLessThanOrEqual(own[g]);
    }
  });
});
