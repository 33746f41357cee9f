import { describe, expect, it } from "vitest";
import { augmentItems, augmentQuery } from "./mips.ts";

describe("MIPS transform", () => {
  it("equalises item norms and preserves inner products", () => {
    // Items [3,4] (norm 5) and [1,0] (norm 1): M = 5, extra coords √(25−25)=0 and √(25−1)=√24.
    const { vectors, maxNorm } = augmentItems(new Float32Array([3, 4, 1, 0]), 2, 2);
    expect(maxNorm).toBe(5);
    expect(Array.from(vectors)).toEqual([3, 4, 0, 1, 0, Math.fround(Math.sqrt(24))]);
    const q = augmentQuery(new Float32Array([2, -1]), new Float32Array(3));
    expect(Array.from(q)).toEqual([2, -1, 0]);
    // [2,-1,0]·[3,4,0] = 2 = [2,-1]·[3,4]; [2,-1,0]·[1,0,√24] = 2 = [2,-1]·[1,0].
    expect(q[0] * vectors[0] + q[1] * vectors[1] + q[2] * vectors[2]).toBe(2);
    expect(q[0] * vectors[3] + q[1] * vectors[4] + q[2] * vectors[5]).toBe(2);
  });
});
