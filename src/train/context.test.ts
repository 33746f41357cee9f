import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Rng } from "../core/rng.ts";
import { loadDataset } from "../data/load.ts";
import { leaveOneOut } from "../data/splits.ts";
import {
  type ContextBatch,
  contextFromItems,
  NO_CORRUPTION,
  PSEUDO_CONTEXT_DEFAULTS,
  pseudoContext,
  relatedCategories,
  resolvePseudoContextArgs,
} from "./context.ts";
import { catalogue } from "./contextTesting.ts";

// Items: 1 {3:.2, 1:.5, 2:.3}; 2 {} (no categories); 3 {4:1}; 4 six categories 5..10 at 1/6;
// 5 four categories 11..14 at ¼ (for the rate tests); 6 two categories 15, 16 at ½.
const ds = catalogue([
  [
    [3, 0.2],
    [1, 0.5],
    [2, 0.3],
  ],
  [],
  [[4, 1]],
  [5, 6, 7, 8, 9, 10].map((c) => [c, 1 / 6] as const),
  [11, 12, 13, 14].map((c) => [c, 0.25] as const),
  [
    [15, 0.5],
    [16, 0.5],
  ],
]);

const row = (b: ContextBatch, p: number) => ({
  ids: Array.from(b.catIds.subarray(p * b.k, (p + 1) * b.k)),
  w: Array.from(b.weights.subarray(p * b.k, (p + 1) * b.k)),
  present: b.present[p],
});

/**
 * Invariants of every ContextBatch: weights sum to 1 on present rows, filled slots first, no
 * duplicate, empty rows all zero. Plain checks and one expect (20,000 expects would be slow).
 */
function checkInvariants(b: ContextBatch, P: number): void {
  expect([b.catIds.length, b.weights.length, b.present.length]).toEqual([P * b.k, P * b.k, P]);
  const bad: string[] = [];
  for (let p = 0; p < P && bad.length < 5; p++) {
    const { ids, w, present } = row(b, p);
    const filled = ids.filter((c) => c !== 0);
    const sum = w.reduce((s, x) => s + x, 0);
    const emptyZero = w.slice(filled.length).every((x) => x === 0);
    const ok = present
      ? Math.abs(sum - 1) < 1e-5 &&
        new Set(filled).size === filled.length &&
        ids.slice(0, filled.length).every((c) => c !== 0) &&
        emptyZero
      : filled.length === 0 && sum === 0;
    if (!ok) bad.push(`row ${p}: ${JSON.stringify({ ids, w, present })}`);
  }
  expect(bad).toEqual([]);
}

describe("contextFromItems", () => {
  it("takes the top-k by confidence and normalises (hand-computed)", () => {
    const b = contextFromItems(Int32Array.from([1, 2, 3, 0, 4]), ds, 2);
    // Item 1: top-2 = cat 1 (.5), cat 2 (.3) → .5/.8 = .625, .3/.8 = .375.
    expect(row(b, 0)).toEqual({ ids: [1, 2], w: [0.625, 0.375], present: 1 });
    // Item 2 has no categories, item 0 is padding: no context, empty rows.
    expect(row(b, 1)).toEqual({ ids: [0, 0], w: [0, 0], present: 0 });
    expect(row(b, 3)).toEqual({ ids: [0, 0], w: [0, 0], present: 0 });
    expect(row(b, 2)).toEqual({ ids: [4, 0], w: [1, 0], present: 1 });
    // Item 4: six ties → the first two in file order, ½ each.
    expect(row(b, 4)).toEqual({ ids: [5, 6], w: [0.5, 0.5], present: 1 });
    checkInvariants(b, 5);
  });

  it("keeps all categories when k exceeds them", () => {
    // Item 1 with k = 4: .5, .3, .2 (sum 1) and one empty slot.
    const b = contextFromItems([1], ds, 4);
    expect(row(b, 0).ids).toEqual([1, 2, 3, 0]);
    expect(row(b, 0).w.map((x) => Number(x.toFixed(6)))).toEqual([0.5, 0.3, 0.2, 0]);
  });

  it("names a bad item and a bad k", () => {
    expect(() => contextFromItems([1, 9], ds, 2)).toThrow(
      "parameter items: item 9 at position 1 is not an item code in [0, 7)",
    );
    expect(() => contextFromItems([1], ds, 0)).toThrow("parameter k: expected an integer in [1, 64], got 0");
  });
});

describe("pseudoContext", () => {
  const many = (item: number, P: number) => new Int32Array(P).fill(item);

  it("without corruption equals contextFromItems(positives)", () => {
    const positives = Int32Array.from([1, 2, 3, 0, 4, 5, 6, 1, 4]);
    for (const k of [1, 2, 4, 8]) {
      const got = pseudoContext(positives, ds, { ...NO_CORRUPTION, k }, new Rng(1));
      expect(got).toEqual(contextFromItems(positives, ds, k));
    }
  });

  it("is deterministic for a seed and differs across seeds", () => {
    const positives = Int32Array.from({ length: 200 }, (_, i) => 1 + (i % 6));
    const args = { ...PSEUDO_CONTEXT_DEFAULTS, swapRelated: 0 };
    const a = pseudoContext(positives, ds, args, new Rng(7));
    expect(pseudoContext(positives, ds, args, new Rng(7))).toEqual(a);
    expect(pseudoContext(positives, ds, args, new Rng(8))).not.toEqual(a);
    checkInvariants(a, positives.length);
  });

  it("gives items without categories no context, whatever the corruption", () => {
    const b = pseudoContext(
      many(2, 50),
      ds,
      { ...PSEUDO_CONTEXT_DEFAULTS, wholeContextDropout: 0, swapRelated: 0 },
      new Rng(1),
    );
    expect(b.present.every((x) => x === 0)).toBe(true);
    checkInvariants(b, 50);
  });

  const P = 20_000;

  it("whole-context dropout removes the context of that share of examples", () => {
    const b = pseudoContext(many(5, P), ds, { ...NO_CORRUPTION, wholeContextDropout: 0.3 }, new Rng(2));
    const present = b.present.reduce((s, x) => s + x, 0) / P;
    // Expected 0.7; binomial sd √(0.21/20000) = 0.0032.
    expect(Math.abs(present - 0.7)).toBeLessThan(0.02);
    checkInvariants(b, P);
  });

  it("drops each category with the given probability, never all", () => {
    const b = pseudoContext(many(5, P), ds, { ...NO_CORRUPTION, dropCategory: 0.2 }, new Rng(3));
    let filled = 0;
    for (let p = 0; p < P; p++) filled += row(b, p).ids.filter((c) => c !== 0).length;
    // 4 categories: expected dropped 4·0.2 − 0.2⁴ (an all-dropped row keeps one) = 0.7984 → kept 3.2016;
    // per-row sd ≈ 0.8 → sd of the mean 0.0057.
    expect(Math.abs(filled / P - 3.2016)).toBeLessThan(0.03);
    expect(b.present.every((x) => x === 1)).toBe(true);
    checkInvariants(b, P);
  });

  it("dropCategory = 1 keeps exactly one category, chosen uniformly", () => {
    const b = pseudoContext(many(5, P), ds, { ...NO_CORRUPTION, dropCategory: 1 }, new Rng(4));
    const counts = new Map<number, number>();
    let notOne = 0;
    for (let p = 0; p < P; p++) {
      const r = row(b, p);
      if (r.ids.filter((c) => c !== 0).length !== 1) notOne++;
      counts.set(r.ids[0], (counts.get(r.ids[0]) ?? 0) + 1);
    }
    expect(notOne).toBe(0);
    // Each of 11..14 expected 5000 times; sd √(20000·¼·¾) = 61.
    for (const c of [11, 12, 13, 14]) expect(Math.abs((counts.get(c) ?? 0) - 5000)).toBeLessThan(350);
  });

  it("jitters confidences log-normally", () => {
    const sigma = 0.5;
    const b = pseudoContext(many(6, P), ds, { ...NO_CORRUPTION, jitter: sigma }, new Rng(5));
    let sq = 0;
    for (let p = 0; p < P; p++) {
      const { w } = row(b, p);
      sq += Math.log(w[0] / w[1]) ** 2;
    }
    // Two equal confidences: log(w₁/w₂) = σ(z₁ − z₂), so E[log²] = 2σ² = 0.5 (sd of the mean ≈ 0.005).
    expect(Math.abs(sq / P - 2 * sigma * sigma)).toBeLessThan(0.03);
    checkInvariants(b, P);
  });

  it("swaps one category for a related one at the given rate", () => {
    const related = (c: number) => (c >= 11 && c <= 14 ? Int32Array.from([20, 21]) : new Int32Array(0));
    const b = pseudoContext(many(5, P), ds, { ...NO_CORRUPTION, swapRelated: 0.25, related }, new Rng(6));
    let swapped = 0;
    let twice = 0;
    for (let p = 0; p < P; p++) {
      const outside = row(b, p).ids.filter((c) => c >= 20).length;
      if (outside > 1) twice++;
      swapped += outside;
    }
    expect(twice).toBe(0);
    // Expected 0.25; sd √(0.1875/20000) = 0.0031.
    expect(Math.abs(swapped / P - 0.25)).toBeLessThan(0.02);
    checkInvariants(b, P);
  });

  it("uses catalogue-related categories by default", () => {
    // Item 6's categories 15, 16 co-occur only with each other: a swap can only bring in the other
    // one, which is already in the row, so nothing changes. Item 1's categories relate to each other too.
    const b = pseudoContext(many(6, 200), ds, { ...NO_CORRUPTION, swapRelated: 1 }, new Rng(9));
    for (let p = 0; p < 200; p++) expect(row(b, p).ids).toEqual([15, 16, 0, 0]);
  });

  it("validates every field, naming it", () => {
    expect(() => resolvePseudoContextArgs({ dropCategory: 1.5 })).toThrow(
      "parameter dropCategory: expected a probability in [0, 1], got 1.5",
    );
    expect(() => resolvePseudoContextArgs({ wholeContextDropout: -0.1 })).toThrow(
      "parameter wholeContextDropout",
    );
    expect(() => resolvePseudoContextArgs({ swapRelated: Number.NaN })).toThrow("parameter swapRelated");
    expect(() => resolvePseudoContextArgs({ jitter: -1 })).toThrow("parameter jitter");
    expect(() => resolvePseudoContextArgs({ k: 2.5 })).toThrow("parameter k");
    expect(resolvePseudoContextArgs()).toEqual(PSEUDO_CONTEXT_DEFAULTS);
    expect(() => pseudoContext([7], ds, {}, new Rng(1))).toThrow("parameter positives: item 7 at position 0");
  });
});

const repoRoot = path.resolve(import.meta.dirname, "../..");
const ml100k = path.resolve(repoRoot, "../shared/data/ml-100k");
describe.skipIf(!existsSync(path.join(ml100k, "u.data")))(
  `MovieLens-100K genres (skipped when ${ml100k} is absent)`,
  () => {
    it("real and uncorrupted pseudo-context agree for every film; related genres make sense", async () => {
      const ml = await loadDataset({ format: "movielens-100k", path: ml100k });
      const all = Int32Array.from({ length: ml.itemVocab.size }, (_, i) => i);
      const real = contextFromItems(all, ml, 4);
      expect(pseudoContext(all, ml, NO_CORRUPTION, new Rng(1))).toEqual(real);
      // Every film has ≥ 1 genre (the padding row has none).
      expect(real.present.reduce((s, x) => s + x, 0)).toBe(ml.itemVocab.size - 1);
      const related = relatedCategories(ml, 3, leaveOneOut(ml.offsets).validStart);
      const code = (g: string) => ml.categoryVocab.get(g) ?? -1;
      const names = (g: string) => Array.from(related(code(g)), (c) => ml.categoryVocab.names[c]);
      expect(names("Animation")).toContain("Children's");
      const corrupted = pseudoContext(all, ml, { ...PSEUDO_CONTEXT_DEFAULTS, related }, new Rng(2));
      checkInvariants(corrupted, all.length);
    });
  },
);
