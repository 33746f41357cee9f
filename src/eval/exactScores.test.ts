import { describe, expect, it } from "vitest";
import { Rng } from "../core/rng.ts";
import { dotScores } from "./exactScores.ts";
import { createOrtExactScorer } from "./ortScores.ts";

/** Naive reference: out[b, i] = Σ_k u[b, k] · v[i, k]. */
function naive(u: Float32Array, v: Float32Array, B: number, N: number, d: number): Float32Array {
  const out = new Float32Array(B * N);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < N; i++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += u[b * d + k] * v[i * d + k];
      out[b * N + i] = s;
    }
  return out;
}

const random = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => rng.normal());

describe("exact scores U · Vᵀ", () => {
  it("a 2×3 example by hand", () => {
    const u = Float32Array.of(1, 2, /* user 1 */ -1, 0.5); // [2, 2]
    const v = Float32Array.of(0, 0, /* item 1 */ 3, 1, /* item 2 */ -2, 4); // [3, 2]
    // user 0: [0, 3+2, -2+8] = [0, 5, 6]; user 1: [0, -3+0.5, 2+2] = [0, -2.5, 4]
    expect(Array.from(dotScores(u, v, 2, 3, 2))).toEqual([0, 5, 6, 0, -2.5, 4]);
  });

  for (const seed of [1, 2, 3]) {
    it(`tiled TypeScript path equals the naive loop (seed ${seed}, shapes off the tile/unroll sizes)`, () => {
      const rng = new Rng(seed);
      const [B, N, d] = [7, 300 + seed, 5 + seed]; // B not a multiple of 4, N crosses a 256 tile
      const u = random(rng, B * d);
      const v = random(rng, N * d);
      expect(Array.from(dotScores(u, v, B, N, d))).toEqual(Array.from(naive(u, v, B, N, d)));
    });
  }

  it("onnxruntime path matches the TypeScript path to Float32 rounding", async () => {
    const rng = new Rng(7);
    const [B, N, d] = [9, 513, 16];
    const u = random(rng, B * d);
    const v = random(rng, N * d);
    const ort = await createOrtExactScorer(v, N, d, 1);
    try {
      const fast = await ort.scores(u, B);
      const ref = dotScores(u, v, B, N, d);
      expect(fast.length).toBe(B * N);
      for (let j = 0; j < ref.length; j++) expect(Math.abs(fast[j] - ref[j])).toBeLessThan(1e-4);
    } finally {
      await ort.release();
    }
  });

  it("rejects mismatched lengths with CTXREC_ERR_SHAPE", () => {
    expect(() => dotScores(new Float32Array(5), new Float32Array(6), 2, 3, 2)).toThrow(/users \[B, d\]/);
  });
});
