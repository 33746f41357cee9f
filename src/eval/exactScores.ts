/**
 * Exact inner-product scores of a batch of users against every item, `S = U · Vᵀ`, in plain
 * TypeScript: the reference path that needs no native library.
 *
 * Blocking: items are taken in tiles of ITEM_TILE rows (64 × 4 B × 256 = 64 KiB at d = 64, so a
 * tile stays in L2 while every user of the batch passes over it), and users four at a time so each
 * item value loaded is used four times from registers. Sums run in double precision and are
 * rounded once into the Float32 output, so the result does not depend on the tiling.
 * Measured throughput: bench/results/eval.md (`npx tsx bench/eval.ts`).
 */
import { assertLength } from "../core/shapes.ts";

/** Items per tile. */
const ITEM_TILE = 256;

/**
 * @param users [B, d] row-major user embeddings
 * @param items [N, d] row-major item embeddings
 * @param out [B, N] row-major output (allocated when omitted)
 * @returns out, with out[b·N + i] = Σ_k users[b·d + k] · items[i·d + k]
 */
export function dotScores(
  users: Float32Array,
  items: Float32Array,
  B: number,
  N: number,
  d: number,
  out: Float32Array = new Float32Array(B * N),
): Float32Array {
  assertLength(users, B * d, "users [B, d]");
  assertLength(items, N * d, "items [N, d]");
  assertLength(out, B * N, "out [B, N]");
  for (let i0 = 0; i0 < N; i0 += ITEM_TILE) {
    const i1 = Math.min(N, i0 + ITEM_TILE);
    let b = 0;
    for (; b + 4 <= B; b += 4) {
      const u0 = b * d;
      const u1 = u0 + d;
      const u2 = u1 + d;
      const u3 = u2 + d;
      for (let i = i0; i < i1; i++) {
        const v = i * d;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let k = 0; k < d; k++) {
          const x = items[v + k];
          s0 += users[u0 + k] * x;
          s1 += users[u1 + k] * x;
          s2 += users[u2 + k] * x;
          s3 += users[u3 + k] * x;
        }
        out[b * N + i] = s0;
        out[(b + 1) * N + i] = s1;
        out[(b + 2) * N + i] = s2;
        out[(b + 3) * N + i] = s3;
      }
    }
    for (; b < B; b++) {
      const u = b * d;
      for (let i = i0; i < i1; i++) {
        const v = i * d;
        let s = 0;
        for (let k = 0; k < d; k++) s += users[u + k] * items[v + k];
        out[b * N + i] = s;
      }
    }
  }
  return out;
}
