import { describe, expect, it } from "vitest";
import { relatedCategories } from "./contextRelated.ts";
import { catalogue } from "./contextTesting.ts";

// Items (index 0 = padding): 1 {1:½, 2:½}, 2 {1:½, 2:½}, 3 {2:½, 3:½}, 4 {4:1}.
const cat = catalogue([
  [
    [1, 0.5],
    [2, 0.5],
  ],
  [
    [1, 0.5],
    [2, 0.5],
  ],
  [
    [2, 0.5],
    [3, 0.5],
  ],
  [[4, 1]],
]);

describe("relatedCategories from the catalogue", () => {
  // Pairs: (1,2) ¼ + ¼ = ½, (2,3) ¼; both directions → mass 1.5 → n(1,2) = ⅓, n(2,3) = ⅙.
  // Marginals n(1) = ⅓, n(2) = ½, n(3) = ⅙. s(2,1) = ⅓/√(½·⅓) = 0.816 > s(2,3) = ⅙/√(½·⅙) = 0.577.
  const related = relatedCategories(cat, 5);

  it("ranks by normalised co-occurrence, best first", () => {
    expect(Array.from(related(2))).toEqual([1, 3]);
    expect(Array.from(related(1))).toEqual([2]);
    expect(Array.from(related(3))).toEqual([2]);
  });

  it("gives nothing for a lone category, padding, or an unused code", () => {
    expect(related(4).length).toBe(0);
    expect(related(0).length).toBe(0);
    expect(related(99).length).toBe(0);
    expect(() => related(-1)).toThrow("parameter category: expected a category code ≥ 0, got -1");
  });

  it("keeps topN", () => {
    expect(Array.from(relatedCategories(cat, 1)(2))).toEqual([1]);
    expect(() => relatedCategories(cat, 0)).toThrow("parameter topN");
  });
});

describe("relatedCategories with users' transitions", () => {
  // User 1 (code 1) has events [4, 3, 1]; trainEnd = 2 keeps only the transition 4 → 3.
  // Transition pairs: cat 4 → cats 2 and 3, ½ each; both directions → mass 2 → n_t = ¼ per pair.
  // Combined: n(1,2) = ⅓, n(2,3) = ⅙, n(4,2) = ¼, n(4,3) = ¼;
  // marginals n(2) = ⅓ + ⅙ + ¼ = ¾, n(3) = ⅙ + ¼ = 5/12, n(4) = ½.
  // s(4,3) = ¼/√(½·5/12) = 0.548 > s(4,2) = ¼/√(½·¾) = 0.408;
  // s(3,4) = 0.548 > s(3,2) = ⅙/√(5/12·¾) = 0.298.
  const ds = { ...cat, offsets: Int32Array.from([0, 0, 3]), items: Int32Array.from([4, 3, 1]) };
  const trainEnd = Int32Array.from([0, 2]);

  it("adds transition evidence", () => {
    const related = relatedCategories(ds, 5, trainEnd);
    expect(Array.from(related(4))).toEqual([3, 2]);
    expect(Array.from(related(3))).toEqual([4, 2]);
  });

  it("never reads events at or after trainEnd (validation/test events)", () => {
    // The held-out transition 3 → 1 would relate 1 with 3; with trainEnd it must not.
    expect(Array.from(relatedCategories(ds, 5, trainEnd)(1))).toEqual([2]);
    expect(Array.from(relatedCategories(ds, 5, Int32Array.from([0, 3]))(1))).toContain(3);
  });

  it("is deterministic and checks trainEnd's length", () => {
    const a = relatedCategories(ds, 5, trainEnd);
    const b = relatedCategories(ds, 5, trainEnd);
    for (let c = 0; c < 5; c++) expect(a(c)).toEqual(b(c));
    expect(() => relatedCategories(ds, 5, Int32Array.from([0]))).toThrow(
      "parameter trainEnd: expected length 2",
    );
  });
});
