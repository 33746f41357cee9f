import { describe, expect, it } from "vitest";
import { CountryEligibility, Eligibility } from "./eligibility.ts";

describe("Eligibility", () => {
  it("holds the given rows across word boundaries, ignoring duplicates", () => {
    const e = Eligibility.fromRows(70, [69, 0, 31, 32, 31]);
    expect(Array.from(e.rows)).toEqual([0, 31, 32, 69]);
    expect(e.count).toBe(4);
    expect([0, 1, 31, 32, 33, 69].map((i) => e.has(i))).toEqual([true, false, true, true, false, true]);
    expect(e.has(-1)).toBe(false);
    expect(e.has(70)).toBe(false);
  });

  it("builds from a predicate and as 'all'", () => {
    expect(Array.from(Eligibility.fromPredicate(10, (i) => i % 3 === 0).rows)).toEqual([0, 3, 6, 9]);
    expect(Eligibility.all(33).count).toBe(33);
    expect(Eligibility.fromRows(0, []).count).toBe(0);
  });

  it("rejects rows outside [0, N)", () => {
    expect(() => Eligibility.fromRows(5, [1, 5])).toThrow("row 5 at position 1 is outside [0, 5)");
  });
});

describe("CountryEligibility", () => {
  // Items: 0 unrestricted, 1 only country 7, 2 countries 7 and 9, 3 unrestricted, 4 only country 9.
  const offsets = new Int32Array([0, 0, 1, 3, 3, 4]);
  const countries = new Int32Array([7, 7, 9, 9]);
  const c = new CountryEligibility(offsets, countries);

  it("gives each country its items plus the unrestricted ones", () => {
    expect(Array.from(c.forCountry(7).rows)).toEqual([0, 1, 2, 3]);
    expect(Array.from(c.forCountry(9).rows)).toEqual([0, 2, 3, 4]);
  });

  it("gives unknown and unlisted countries only the unrestricted items", () => {
    expect(Array.from(c.forCountry(undefined).rows)).toEqual([0, 3]);
    expect(Array.from(c.forCountry(1).rows)).toEqual([0, 3]);
    expect(c.forCountry(7)).toBe(c.forCountry(7)); // built once, not per request
  });
});
