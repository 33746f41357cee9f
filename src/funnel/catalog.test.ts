import { describe, expect, it } from "vitest";
import { compileCatalog, eligibleItems, isEligible, itemVector } from "./catalog.ts";
import { handWorld } from "./fixture.ts";

describe("compileCatalog", () => {
  it("builds CSR category rows, norms, bids and families", () => {
    const cat = compileCatalog(handWorld());
    expect(cat.itemIds).toEqual(["i0", "i1", "i2", "i3", "i4", "i5", "i6"]);
    expect([...cat.catOffsets]).toEqual([0, 1, 3, 4, 5, 7, 8, 8]);
    const i1 = itemVector(cat, 1);
    expect(Array.from(i1.ids)).toEqual([0, 1]);
    expect(Array.from(i1.values)).toEqual([0.8, 0.2]);
    expect(cat.catNorm[1]).toBeCloseTo(Math.sqrt(0.68), 12);
    expect(cat.catNorm[6]).toBe(0);
    expect([...cat.bid]).toEqual([1, 2, 1, 1, 1, 0.5, 1]); // i6 has no bid → 1
    expect([...cat.family]).toEqual([0, 0, 1, 2]);
  });

  it("gives a category missing from truth a family of its own", () => {
    const w = handWorld();
    w.items.push({ id: "i7", categories: [{ id: "cX", confidence: 0.5 }] });
    const cat = compileCatalog(w);
    expect(cat.family[cat.categoryIndex.get("cX") as number]).toBe(3);
  });

  it("applies country eligibility", () => {
    const cat = compileCatalog(handWorld());
    expect(isEligible(cat, 3, "FR")).toBe(true);
    expect(isEligible(cat, 3, "US")).toBe(false);
    expect(isEligible(cat, 3, undefined)).toBe(false);
    expect(isEligible(cat, 0, undefined)).toBe(true);
    expect([...eligibleItems(cat, "US", new Map())]).toEqual([0, 1, 2, 4, 5, 6]);
  });

  it("names the row and value of a bad bid or confidence", () => {
    const w = handWorld();
    w.items[2].bid = -1;
    expect(() => compileCatalog(w)).toThrow(
      "items.jsonl:3: bid: expected a finite number ≥ 0, got -1; fix the item's bid",
    );
    const v = handWorld();
    v.items[1].categories[0].confidence = 1.5;
    expect(() => compileCatalog(v)).toThrow(
      "items.jsonl:2: categories: confidence of 'c0' must be in (0, 1], got 1.5",
    );
  });
});
