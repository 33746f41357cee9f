/** Shard assignment: FNV-1a against published test vectors, stability, partition and balance. */
import { describe, expect, it } from "vitest";
import type { CompiledDataset } from "../data/dataset.ts";
import { fnv1a32, MAX_SHARDS, shardOf, shardSizes, shardUsers } from "./shards.ts";

/** The part of a data set the shard functions read: user ids by code (code 0 is padding). */
function users(n: number): CompiledDataset {
  const names = ["<pad>", ...Array.from({ length: n }, (_, i) => `user-${i}`)];
  return { userVocab: { names } } as unknown as CompiledDataset;
}

describe("shards", () => {
  it("fnv1a32 matches the reference test vectors", () => {
    // From the FNV reference (draft-eastlake-fnv): offset basis for "", then one and six bytes.
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("foobar")).toBe(0xbf9cf968);
    // Hashes the UTF-8 bytes: "é" is 0xC3 0xA9. By hand: h = 0x811c9dc5 ^ 0xc3 = 0x811c9d06,
    // · 16777619 mod 2³² = 0x460b3072, then ^ 0xa9 and · 16777619 again (BigInt below).
    const step = (h: bigint, b: bigint) => ((h ^ b) * 16777619n) & 0xffffffffn;
    expect(BigInt(fnv1a32("é"))).toBe(step(step(0x811c9dc5n, 0xc3n), 0xa9n));
  });

  it("shardOf is the hash mod N, stable across calls, and refuses bad N", () => {
    expect(shardOf("a", 7)).toBe(0xe40c292c % 7);
    expect(shardOf("foobar", 1)).toBe(0);
    for (const bad of [0, -1, 1.5, MAX_SHARDS + 1, Number.NaN]) {
      expect(() => shardOf("a", bad)).toThrow(/shard count/);
    }
  });

  it("the shards partition the users, keep their order, and are balanced", () => {
    const ds = users(10_000);
    const all = Int32Array.from({ length: 10_000 }, (_, i) => i + 1);
    const N = 8;
    const sizes = shardSizes(ds, all, N);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(10_000);
    const seen = new Set<number>();
    for (let s = 0; s < N; s++) {
      const part = shardUsers(ds, all, s, N);
      expect(part.length).toBe(sizes[s]);
      for (let i = 1; i < part.length; i++) expect(part[i]).toBeGreaterThan(part[i - 1]);
      for (const u of part) {
        expect(seen.has(u)).toBe(false);
        seen.add(u);
        expect(shardOf(ds.userVocab.names[u], N)).toBe(s);
      }
    }
    expect(seen.size).toBe(10_000);
    // 1,250 expected per shard, σ ≈ √(10000 · 1/8 · 7/8) ≈ 33: every shard within ±5σ.
    for (const n of sizes) expect(Math.abs(n - 1250)).toBeLessThan(165);
  });

  it("a user's shard does not depend on the other users", () => {
    const small = users(10);
    const big = users(1000);
    const pick = (ds: CompiledDataset, n: number) =>
      Array.from(
        shardUsers(
          ds,
          Int32Array.from({ length: n }, (_, i) => i + 1),
          2,
          4,
        ),
        (u) => ds.userVocab.names[u],
      );
    const inBig = new Set(pick(big, 1000));
    for (const id of pick(small, 10)) expect(inBig.has(id)).toBe(true);
    expect(() => shardUsers(small, new Int32Array(0), 4, 4)).toThrow(/shard 4 is not in \[0, 4\)/);
  });
});
