/**
 * Test helper (not exported from the package): the Redis server the stream tests use, as the
 * store's tests pick it (CTXREC_TEST_REDIS_URL, default DB 15 on 127.0.0.1:6379), and keys of
 * their own per test, deleted afterwards. Outside CI an unreachable server skips the suites with
 * the reason in their names; under CI (`CI` set) they run and fail.
 */
import type { Redis } from "ioredis";
import { pingRedis } from "../store/redisCommon.ts";
import { parseStoreUrl, type RedisStoreUrl } from "../store/url.ts";

export const redisUrl = process.env.CTXREC_TEST_REDIS_URL ?? "redis://127.0.0.1:6379/15";
export const redisTarget = parseStoreUrl(redisUrl) as RedisStoreUrl;
export const inCi = process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false";

/** A connected client, or null when no server answers PING within a second. */
export function connectTestRedis(): Promise<Redis | null> {
  return pingRedis(redisTarget, 1000).catch(() => null);
}

/** The suite name: `name`, with the skip reason when there is no server and not under CI. */
export function suiteName(name: string, reachable: boolean): string {
  return reachable || inCi
    ? name
    : `${name} (skipped: no Redis server at ${redisUrl}; start one: redis-server --port 6379 --bind 127.0.0.1 --daemonize yes)`;
}

let n = 0;
/** A key prefix no other test (or run) uses. */
export function freshPrefix(what: string): string {
  return `ctxrec:test:${what}:${process.pid}:${Date.now().toString(36)}:${n++}`;
}

/** Deletes every key under `prefix` (SCAN, not KEYS: the server may be shared). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== "0");
}
