/**
 * The contract suite against a real redis-server (`.ci/run` installs and starts one on
 * 127.0.0.1:6379). Uses DB 15 and a fresh key prefix per test, deleted afterwards.
 * Outside CI an unreachable server skips the suite with the reason in its name; under CI
 * (`CI` set) the suite runs anyway and fails, so a missing server is never silently green.
 */
import type { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { featureStoreContract } from "./contract.ts";
import { listStoreVersions, openFeatureStore } from "./open.ts";
import { pingRedis } from "./redisCommon.ts";
import { parseStoreUrl, type RedisStoreUrl } from "./url.ts";

const url = process.env.CTXREC_TEST_REDIS_URL ?? "redis://127.0.0.1:6379/15";
const target = parseStoreUrl(url) as RedisStoreUrl;
const inCi = process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false";

/** A client for set-up and tampering; null when no server answers PING within a second. */
async function connectAdmin(): Promise<Redis | null> {
  return pingRedis(target, 1000).catch(() => null);
}

const admin = await connectAdmin();
afterAll(() => admin?.disconnect());
const skipReason = `skipped: no Redis server at ${url} (start one: redis-server --port 6379 --bind 127.0.0.1 --daemonize yes)`;

describe.skipIf(admin === null && !inCi)(
  admin === null && !inCi ? `Redis store (${skipReason})` : "Redis store",
  () => {
    it(`a Redis server answers at ${url}${inCi ? " (required under CI)" : ""}`, () => {
      expect(
        admin,
        `no Redis server reachable at ${url}; .ci/run must install and start redis-server`,
      ).not.toBeNull();
    });

    let n = 0;
    featureStoreContract("Redis (redis://)", async () => {
      const keyPrefix = `ctxrec:test:${process.pid}:${Date.now()}:${n++}`;
      return {
        open: (args) => openFeatureStore(url, args, { keyPrefix }),
        async writeRaw(modelVersion, user, record) {
          await admin?.set(`${keyPrefix}:v:${modelVersion}:u:${user}`, record);
        },
        async destroy() {
          const keys = (await admin?.keys(`${keyPrefix}:*`)) ?? [];
          if (keys.length > 0) await admin?.del(...keys);
        },
      };
    });

    it("listStoreVersions lists namespaces without opening one", async () => {
      const keyPrefix = `ctxrec:test:${process.pid}:list`;
      try {
        const s = await openFeatureStore(url, { modelVersion: "m1", dim: 3, mode: "write" }, { keyPrefix });
        await s.activate();
        await s.close();
        expect(await listStoreVersions(url, { keyPrefix })).toMatchObject([
          { modelVersion: "m1", dim: 3, active: true },
        ]);
      } finally {
        const keys = (await admin?.keys(`${keyPrefix}:*`)) ?? [];
        if (keys.length > 0) await admin?.del(...keys);
      }
    });

    it("an unreachable server is a CTXREC_ERR_STORE naming the URL and how to start one", async () => {
      // Port 1 on loopback: nothing listens there, the connection is refused at once.
      await expect(openFeatureStore("redis://127.0.0.1:1/0", { modelVersion: "v1", dim: 4 })).rejects.toThrow(
        /ECONNREFUSED.*redis:\/\/127\.0\.0\.1:1\/0.*redis-server/,
      );
    });
  },
);
