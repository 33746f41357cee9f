import { describe, expect, it } from "vitest";
import { DatasetBuilder } from "./builder.ts";
import { datasetStats } from "./stats.ts";

describe("datasetStats", () => {
  it("computes counts, sequence-length summary and density", () => {
    const b = new DatasetBuilder();
    for (const id of ["a", "b", "c", "d"])
      b.addItem({ id, categories: id === "a" ? [{ id: "x", confidence: 1 }] : [] }, {});
    b.closeCatalogue();
    // lengths: u1 = 1, u2 = 2, u3 = 4 → sorted [1, 2, 4]
    b.addEvent("u1", "a", 1, undefined, {});
    for (const [i, t] of [
      ["a", 1],
      ["b", 2],
    ] as const)
      b.addEvent("u2", i, t, undefined, {});
    for (const [i, t] of [
      ["a", 1],
      ["b", 2],
      ["c", 3],
      ["d", 4],
    ] as const)
      b.addEvent("u3", i, t, "buy", {});
    const s = datasetStats(b.finish({ format: "test", path: "-" }));
    expect(s).toMatchObject({ users: 3, items: 4, events: 7, categories: 1, eventTypes: 1 });
    // mean 7/3; median 2; p90 = rank ceil(0.9·3) = 3 → 4; density 7 / (3·4) = 0.58333
    expect(s.seqLen).toEqual({ mean: 7 / 3, median: 2, p90: 4, min: 1, max: 4 });
    expect(s.density).toBeCloseTo(7 / 12, 12);
    expect(s.categoriesPerItem).toBe(0.25);
    expect(s.report.singleEventUsers).toBe(1);
  });
});
