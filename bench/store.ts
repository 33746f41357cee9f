/**
 * Feature-store benchmark: putMany / get / getMany / computedAtMany throughput of the SQLite
 * store (a temp file) and the Redis store (redis://127.0.0.1:6379/15, skipped when unreachable),
 * U users × d=64 float32. Median of REPS passes after one warm-up pass.
 * Writes bench/results/store.json and store.md. Run: `npm run bench:store`.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Rng } from "../src/core/rng.ts";
import type { FeatureStore, StateEntry } from "../src/store/featureStore.ts";
import { openFeatureStore } from "../src/store/open.ts";

const U = 100_000;
const D = 64;
const REPS = 3;
const GETS = 20_000;
const VERSION = "bench-v1";
const redisUrl = process.env.CTXREC_BENCH_REDIS_URL ?? "redis://127.0.0.1:6379/15";
const repoRoot = path.resolve(import.meta.dirname, "..");

const rng = new Rng(7);
const users = Array.from({ length: U }, (_, i) => `user-${i}`);
const vectors = users.map(() => Float32Array.from({ length: D }, () => rng.normal()));
const entries: StateEntry[] = users.map((user, i) => ({
  user,
  vector: vectors[i],
  modelVersion: VERSION,
  computedAt: 1_700_000_000 + i,
}));
const probe = Array.from({ length: GETS }, () => users[rng.int(U)]);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median seconds of `fn` over REPS runs after a warm-up. */
async function time(fn: () => Promise<void>): Promise<number> {
  await fn();
  const s: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const t = performance.now();
    await fn();
    s.push((performance.now() - t) / 1000);
  }
  return median(s);
}

async function batches(items: readonly string[], size: number, fn: (b: string[]) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += size) await fn(items.slice(i, i + size));
}

interface Row {
  store: string;
  op: string;
  batch: number;
  opsPerSec: number;
  usersPerSec: number;
  usPerOp: number;
}

async function bench(name: string, store: FeatureStore): Promise<Row[]> {
  const rows: Row[] = [];
  const add = (op: string, batch: number, count: number, seconds: number) =>
    rows.push({
      store: name,
      op,
      batch,
      opsPerSec: Math.round(count / batch / seconds),
      usersPerSec: Math.round(count / seconds),
      usPerOp: Number(((seconds / (count / batch)) * 1e6).toFixed(1)),
    });
  for (const b of [64, 512, 4096]) {
    const t = await time(async () => {
      for (let i = 0; i < U; i += b) await store.putMany(entries.slice(i, i + b));
    });
    add("putMany", b, U, t);
  }
  add(
    "get",
    1,
    GETS,
    await time(async () => {
      for (const u of probe) await store.get(u);
    }),
  );
  for (const b of [64, 512])
    add("getMany", b, GETS, await time(() => batches(probe, b, (x) => store.getMany(x))));
  add("computedAtMany", 512, U, await time(() => batches(users, 512, (x) => store.computedAtMany(x))));
  return rows;
}

const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-bench-store-"));
const rows: Row[] = [];
let sqliteBytes = 0;
try {
  const file = path.join(tmp, "state.db");
  const sqlite = await openFeatureStore(`file:${file}`, { modelVersion: VERSION, dim: D, mode: "write" });
  rows.push(...(await bench("sqlite", sqlite)));
  await sqlite.close();
  sqliteBytes = statSync(file).size;
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
const keyPrefix = `ctxrec:bench:${process.pid}`;
try {
  const redis = await openFeatureStore(
    redisUrl,
    { modelVersion: VERSION, dim: D, mode: "write" },
    { keyPrefix },
  );
  rows.push(...(await bench("redis", redis)));
  await redis.close();
  const { Redis } = await import("ioredis");
  const admin = new Redis(redisUrl);
  // The bench wrote U keys under its own prefix: delete them in chunks.
  const keys = await admin.keys(`${keyPrefix}:*`);
  for (let i = 0; i < keys.length; i += 10_000) await admin.del(...keys.slice(i, i + 10_000));
  admin.disconnect();
} catch (err) {
  process.stderr.write(`skipping redis: ${(err as Error).message}\n`);
}

const meta = {
  node: process.version,
  cpus: os.cpus().length,
  cpu: os.cpus()[0]?.model ?? "?",
  users: U,
  dim: D,
  reps: REPS,
  sqliteFileBytes: sqliteBytes,
  redisUrl,
  date: new Date().toISOString(),
};
const out = path.join(repoRoot, "bench/results");
writeFileSync(path.join(out, "store.json"), `${JSON.stringify({ ...meta, rows }, null, 2)}\n`);
const md = [
  `Feature store: ${U} users × d=${D} float32, median of ${REPS} passes, ${meta.cpus} CPUs, Node ${meta.node}; SQLite file ${(sqliteBytes / 1e6).toFixed(1)} MB (WAL, synchronous=NORMAL); Redis on loopback`,
  "",
  "| store | op | batch | calls/s | users/s | µs per call |",
  "| --- | --- | ---: | ---: | ---: | ---: |",
  ...rows.map(
    (r) => `| ${r.store} | ${r.op} | ${r.batch} | ${r.opsPerSec} | ${r.usersPerSec} | ${r.usPerOp} |`,
  ),
  "",
].join("\n");
writeFileSync(path.join(out, "store.md"), md);
process.stdout.write(md);
