import { describe, expect, it } from "vitest";
import { Rng } from "../core/rng.ts";
import {
  assertSparse,
  cosineAgainstDense,
  cosineSparse,
  dotSparse,
  norm,
  scatter,
  unscatter,
} from "./sparse.ts";

describe("sparse category vectors", () => {
  const a = { ids: [0, 2], values: [3, 4] };
  const b = { ids: [2, 5], values: [1, 2] };

  it("computes dot, norm and cosine by hand", () => {
    // Only category 2 is shared: dot = 4·1 = 4; |a| = 5, |b| = √5; cos = 4 / (5√5) ≈ 0.357771.
    expect(dotSparse(a, b)).toBe(4);
    expect(norm(a)).toBe(5);
    expect(cosineSparse(a, b)).toBeCloseTo(4 / (5 * Math.sqrt(5)), 12);
    expect(cosineSparse(a, a)).toBeCloseTo(1, 12);
    expect(cosineSparse(a, { ids: [1], values: [1] })).toBe(0);
  });

  it("gives 0 for an empty vector (an item without categories)", () => {
    expect(cosineSparse(a, { ids: [], values: [] })).toBe(0);
  });

  it("matches the pair-wise cosine when one side is scattered into a dense scratch vector", () => {
    const rng = new Rng(3);
    const rand = () => {
      const ids = [...new Set(Array.from({ length: 1 + rng.int(4) }, () => rng.int(10)))].sort(
        (x, y) => x - y,
      );
      return { ids, values: ids.map(() => 0.05 + rng.float()) };
    };
    const dense = new Float64Array(10);
    for (let t = 0; t < 50; t++) {
      const x = rand();
      const y = rand();
      scatter(y, dense);
      const got = cosineAgainstDense(x.ids, x.values, 0, x.ids.length, norm(x), dense, norm(y));
      unscatter(y, dense);
      expect(got).toBeCloseTo(cosineSparse(x, y), 12);
    }
    expect([...dense].every((v) => v === 0)).toBe(true);
  });

  it("rejects unsorted ids and mismatched lengths with the parameter named", () => {
    expect(() => assertSparse({ ids: [2, 1], values: [1, 1] }, "subject")).toThrow(
      "parameter subject: ids must increase strictly, got 2 then 1 at index 1",
    );
    expect(() => assertSparse({ ids: [1], values: [1, 2] }, "subject")).toThrow("ids has 1 entries");
  });
});
