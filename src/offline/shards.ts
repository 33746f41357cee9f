/**
 * Shard assignment of the offline batch on a job queue (`ctxrec encode --queue … --shards N`): a
 * user belongs to shard `fnv1a32(utf8(user id)) mod N`. A pure function of the id and N, so the
 * coordinator and every worker, on any machine and in any run, agree on each user's shard without
 * exchanging user lists, and a user's shard does not depend on which other users the data holds.
 */
import { requireArg } from "../core/errors.ts";
import type { CompiledDataset } from "../data/dataset.ts";

/** Largest `--shards` accepted (one BullMQ job per shard; more only adds overhead). */
export const MAX_SHARDS = 4096;

const encoder = new TextEncoder();

/** 32-bit FNV-1a of the UTF-8 bytes of `text`, as an unsigned integer. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of encoder.encode(text)) {
    h ^= byte;
    // h · 16777619 mod 2³², without leaving the exact range of doubles.
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function checkShards(shards: number): void {
  requireArg(
    Number.isInteger(shards) && shards >= 1 && shards <= MAX_SHARDS,
    "shards",
    `the shard count must be an integer in [1, ${MAX_SHARDS}], got ${shards}`,
  );
}

/** The shard, in [0, shards), of the user with id `user`. */
export function shardOf(user: string, shards: number): number {
  checkShards(shards);
  return fnv1a32(user) % shards;
}

/** The codes of `users` (user codes of `ds`, kept in their order) whose id falls in `shard`. */
export function shardUsers(
  ds: CompiledDataset,
  users: Int32Array,
  shard: number,
  shards: number,
): Int32Array {
  checkShards(shards);
  requireArg(
    Number.isInteger(shard) && shard >= 0 && shard < shards,
    "shard",
    `shard ${shard} is not in [0, ${shards})`,
  );
  const names = ds.userVocab.names;
  const out: number[] = [];
  for (const u of users) if (fnv1a32(names[u]) % shards === shard) out.push(u);
  return Int32Array.from(out);
}

/** Users per shard `[shards]`: how many of `users` (user codes of `ds`) fall in each shard. */
export function shardSizes(ds: CompiledDataset, users: Int32Array, shards: number): number[] {
  checkShards(shards);
  const names = ds.userVocab.names;
  const sizes = new Array<number>(shards).fill(0);
  for (const u of users) sizes[fnv1a32(names[u]) % shards]++;
  return sizes;
}
