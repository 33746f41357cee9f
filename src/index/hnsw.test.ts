import { describe, expect, it } from "vitest";
import { describeVectorIndexContract } from "./contract.ts";
import { ExactIndex } from "./exact.ts";
import { HnswIndex } from "./hnsw.ts";
import { HNSW_BACKENDS } from "./hnswBackends.ts";
import { gaussianMixture, syntheticIds } from "./synthetic.ts";

// High ef on small data: HNSW must then equal the argsort exactly. exactBelow = 0 sends every
// filter through the graph (native filter or oversampling): valid answers and recall ≥ 0.9 there;
// with the default exactBelow, small filters are scanned exactly and must equal the argsort.
for (const backend of HNSW_BACKENDS) {
  describeVectorIndexContract({
    name: `HnswIndex (${backend}, graph filters)`,
    build: (items, modelVersion) =>
      HnswIndex.build(items, { modelVersion, backend, efSearch: 512, exactBelow: 0, threads: 1 }),
    approximateFilters: true,
  });
}
describeVectorIndexContract({
  name: "HnswIndex (usearch, defaults but ef 512)",
  build: (items, modelVersion) => HnswIndex.build(items, { modelVersion, efSearch: 512, threads: 1 }),
});

describe("HnswIndex", () => {
  const n = 5000;
  const dim = 32;
  const items = { vectors: gaussianMixture({ n, dim, seed: 1 }), ids: syntheticIds(n), dim };
  const queries = gaussianMixture({ n: 50, dim, seed: 2 });
  const exact = ExactIndex.build(items, { modelVersion: "v" });
  const recallAt10 = (index: HnswIndex) => {
    let hits = 0;
    for (let q = 0; q < 50; q++) {
      const query = queries.subarray(q * dim, (q + 1) * dim);
      const truth = new Set(exact.search(query, 10).rows);
      for (const r of index.search(query, 10).rows) if (truth.has(r)) hits++;
    }
    return hits / 500;
  };

  it.each(HNSW_BACKENDS)("%s reaches recall@10 ≥ 0.95 at the default ef on 5k clustered items", (backend) => {
    const index = HnswIndex.build(items, { modelVersion: "v", backend, threads: 1 });
    expect(recallAt10(index)).toBeGreaterThanOrEqual(0.95);
  });

  it("changes ef after build (usearch reloads its graph) without changing what it indexes", () => {
    const index = HnswIndex.build(items, { modelVersion: "v", efSearch: 8, threads: 1 });
    const low = recallAt10(index);
    index.setEfSearch(256);
    expect(index.manifest.params.efSearch).toBe(256);
    expect(recallAt10(index)).toBeGreaterThanOrEqual(low);
    expect(recallAt10(index)).toBeGreaterThanOrEqual(0.99);
  });

  it("builds the same graph twice from the same seed (single-threaded)", () => {
    for (const backend of HNSW_BACKENDS) {
      const a = HnswIndex.build(items, { modelVersion: "v", backend, efSearch: 16, threads: 1, seed: 3 });
      const b = HnswIndex.build(items, { modelVersion: "v", backend, efSearch: 16, threads: 1, seed: 3 });
      const q = queries.subarray(0, dim);
      expect(a.search(q, 10)).toEqual(b.search(q, 10));
    }
  });

  it("rejects bad parameters", () => {
    expect(() => HnswIndex.build(items, { modelVersion: "v", m: 1 })).toThrow(/m must be an integer ≥ 2/);
    // @ts-expect-error: an unknown backend, as a config file could name one
    expect(() => HnswIndex.build(items, { modelVersion: "v", backend: "faiss" })).toThrow(
      /backend must be one of/,
    );
  });
});
