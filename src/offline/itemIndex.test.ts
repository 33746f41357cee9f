import { describe, expect, it } from "vitest";
import type { CompiledDataset } from "../data/dataset.ts";
import { ExactIndex } from "../index/exact.ts";
import { gaussianMixture } from "../index/synthetic.ts";
import {
  buildItemIndex,
  catalogueCountries,
  catalogueEmbeddings,
  measureRecall,
  sampleQueries,
} from "./itemIndex.ts";

describe("catalogueEmbeddings", () => {
  const names = ["<pad>", "a", "b"];
  it("drops the padding row when the tower output has one, and keeps [N, d] as is", () => {
    const withPad = new Float32Array([0, 0, 1, 2, 3, 4]);
    expect(catalogueEmbeddings(withPad, names, 2)).toEqual({
      vectors: new Float32Array([1, 2, 3, 4]),
      ids: ["a", "b"],
      dim: 2,
    });
    expect(catalogueEmbeddings(new Float32Array([1, 2, 3, 4]), names, 2).ids).toEqual(["a", "b"]);
  });
  it("refuses any other length", () => {
    expect(() => catalogueEmbeddings(new Float32Array(5), names, 2)).toThrow(
      /returned 5 values; expected \[2, 2\]/,
    );
  });
});

describe("catalogueCountries", () => {
  it("maps item codes 1..N to rows 0..N-1; an item without countries is eligible everywhere", () => {
    // Codes: 0 pad, 1 = a (US=2), 2 = b (no countries), 3 = c (FR=3, US=2).
    const ds = {
      itemCountryOffsets: new Int32Array([0, 0, 1, 1, 3]),
      itemCountries: new Int32Array([2, 3, 2]),
    } as unknown as CompiledDataset;
    const c = catalogueCountries(ds);
    expect(c.size).toBe(3);
    expect(Array.from(c.forCountry(2).rows)).toEqual([0, 1, 2]);
    expect(Array.from(c.forCountry(3).rows)).toEqual([1, 2]);
    expect(Array.from(c.forCountry(undefined).rows)).toEqual([1]);
  });
});

describe("buildItemIndex + measureRecall", () => {
  const n = 2000;
  const dim = 16;
  const items = {
    vectors: gaussianMixture({ n, dim, seed: 3, clusters: 16 }),
    ids: Array.from({ length: n }, (_, i) => `i${i}`),
    dim,
  };
  it("exact against exact has recall 1; HNSW at the default ef is close to it", () => {
    const exact = buildItemIndex(items, { kind: "exact", modelVersion: "m" }).index;
    expect(exact).toBeInstanceOf(ExactIndex);
    const q = sampleQueries(items, 100, 1);
    expect(measureRecall(exact, exact, q, 10).recall).toBe(1);
    const { index, seconds } = buildItemIndex(items, { kind: "hnsw", modelVersion: "m", backend: "hnswlib" });
    expect(index.manifest.modelVersion).toBe("m");
    expect(seconds).toBeGreaterThanOrEqual(0);
    const r = measureRecall(index, exact, q, 10);
    expect(r.queries).toBe(100);
    expect(r.recall).toBeGreaterThanOrEqual(0.9);
  });
});
