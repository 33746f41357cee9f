import { describe, expect, it } from "vitest";
import { describeVectorIndexContract } from "./contract.ts";
import { dot, ExactIndex } from "./exact.ts";
import { gaussianMixture, syntheticIds } from "./synthetic.ts";

describeVectorIndexContract({
  name: "ExactIndex",
  build: (items, modelVersion) => ExactIndex.build(items, { modelVersion }),
});

describe("ExactIndex", () => {
  it("computes dot products with a tail when d is not a multiple of 4", () => {
    // [1,2,3,4,5]·[1,1,1,1,2] = 1+2+3+4+10 = 20
    expect(dot(new Float32Array([1, 2, 3, 4, 5]), 0, new Float32Array([9, 1, 1, 1, 1, 2]), 1, 5)).toBe(20);
  });

  it("answers a blocked batch spanning several item blocks as it answers each query alone", () => {
    // 200 items = 3 full blocks of 64 + a partial one.
    const items = { vectors: gaussianMixture({ n: 200, dim: 12, seed: 1 }), ids: syntheticIds(200), dim: 12 };
    const index = ExactIndex.build(items, { modelVersion: "v" });
    const queries = gaussianMixture({ n: 9, dim: 12, seed: 2 });
    const batch = index.searchBatch(queries, 7);
    for (let q = 0; q < 9; q++)
      expect(batch[q]).toEqual(index.search(queries.subarray(q * 12, (q + 1) * 12), 7));
  });
});
