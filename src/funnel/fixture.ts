/**
 * A hand-made world small enough to compute funnel results by hand (used by the unit tests; the
 * worked numbers are in the tests' comments).
 *
 *   categories: c0, c1 (family 0), c2 (family 1), c3 (family 2)
 *   items:  i0 {c0:1}            bid 1
 *           i1 {c0:0.8, c1:0.2}  bid 2
 *           i2 {c1:1}            bid 1
 *           i3 {c2:1}            bid 1, only in FR
 *           i4 {c2:0.5, c3:0.5}  bid 1
 *           i5 {c3:1}            bid 0.5
 *           i6 {}                (no categories, no bid → 1)
 *   users:  u0 US, interests c0 0.6, c2 0.4;  u1 FR, interests c3 1
 *   requests: r0 (u0, subject i0, next i1); r1 (u1, subject i5, next i3)
 */
import type { World } from "../synth/types.ts";
import type { CandidateGenerator, ScoredItem } from "./candidateGenerator.ts";

export function handWorld(): World {
  return {
    dir: "/nonexistent-hand-world",
    manifest: {
      formatVersion: 1,
      preset: "hand",
      seed: 0,
      params: {},
      counts: { users: 2, items: 7, categories: 4, events: 0, requests: 2 },
    },
    items: [
      { id: "i0", categories: [{ id: "c0", confidence: 1 }], bid: 1 },
      {
        id: "i1",
        categories: [
          { id: "c0", confidence: 0.8 },
          { id: "c1", confidence: 0.2 },
        ],
        bid: 2,
      },
      { id: "i2", categories: [{ id: "c1", confidence: 1 }], bid: 1 },
      { id: "i3", categories: [{ id: "c2", confidence: 1 }], bid: 1, countries: ["FR"] },
      {
        id: "i4",
        categories: [
          { id: "c2", confidence: 0.5 },
          { id: "c3", confidence: 0.5 },
        ],
        bid: 1,
      },
      { id: "i5", categories: [{ id: "c3", confidence: 1 }], bid: 0.5 },
      { id: "i6", categories: [] },
    ],
    users: [
      { id: "u0", country: "US" },
      { id: "u1", country: "FR" },
    ],
    requests: [
      { id: "r0", user: "u0", subjectItem: "i0", time: 100, next: { item: "i1", timestamp: 200 } },
      { id: "r1", user: "u1", subjectItem: "i5", time: 100, next: { item: "i3", timestamp: 200 } },
    ],
    categories: new Map([
      ["c0", { id: "c0", family: 0 }],
      ["c1", { id: "c1", family: 0 }],
      ["c2", { id: "c2", family: 1 }],
      ["c3", { id: "c3", family: 2 }],
    ]),
    userTruth: new Map([
      [
        "u0",
        {
          id: "u0",
          interests: [
            { category: "c0", weight: 0.6 },
            { category: "c2", weight: 0.4 },
          ],
        },
      ],
      ["u1", { id: "u1", interests: [{ category: "c3", weight: 1 }] }],
    ]),
    requestTruth: new Map([
      ["r0", { id: "r0", intent: "c0", intentFromLongTerm: true, nextFromIntent: true }],
      ["r1", { id: "r1", intent: "c3", intentFromLongTerm: true, nextFromIntent: false }],
    ]),
  };
}

/** A CG that answers from a fixed table: request id → item ids, best first (for hand-computed tests). */
export function fixedGenerator(name: string, table: Record<string, string[]>): CandidateGenerator {
  return {
    name,
    retrieveMany: async (requests) =>
      requests.map((r) => (table[r.id] ?? []).map((item, j): ScoredItem => ({ item, score: -j }))),
  };
}
