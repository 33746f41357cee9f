/**
 * Streaming state refresh end to end, against a real redis-server and the real ONNX encoder of a
 * (randomly initialised, saved and exported) model on the tiny synthetic world: events XADDed to a
 * stream → consumers of one group → states in a SQLite store, compared with what `ctxrec encode`
 * writes for the same histories, BYTE FOR BYTE (the stream builds the offline batch's encoder input
 * padded to L, so the float32 bits agree, not only within 1e-6).
 *
 * Checked: streamed histories (with and without seeding from the data) equal `ctxrec encode`; two
 * consumers share the work with nothing lost; malformed entries are counted, logged with their id
 * and acknowledged while the consumer goes on; entries of a consumer killed before its ack are
 * claimed by another; redelivery and repeated XADDs change nothing; a Redis server taken down
 * mid-stream is waited for and the consumer resumes; `ctxrec stream` finishes its batch and exits 0
 * on SIGTERM; bad flags are refused naming them.
 *
 * Redis: CTXREC_TEST_REDIS_URL (default redis://127.0.0.1:6379/15); each test has its own stream,
 * group and log prefix, deleted afterwards. The restart test runs its own redis-server.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerEncodeCommand } from "../src/cli/commands/encode.ts";
import { registerStreamCommand } from "../src/cli/commands/stream.ts";
import { CtxrecError } from "../src/core/errors.ts";
import type { CompiledDataset } from "../src/data/dataset.ts";
import { loadDataset } from "../src/data/load.ts";
import { disposeModel } from "../src/model/model.ts";
import { readModelVocabs } from "../src/offline/modelData.ts";
import { type OnnxModelHandle, openOnnxModel } from "../src/onnx/runtime.ts";
import { saveTinyModel, tinyWorld } from "../src/serve/testBundle.ts";
import type { FeatureStore, StateEntry } from "../src/store/featureStore.ts";
import { startServer } from "../src/store/fixtures/redisCluster.ts";
import { openFeatureStore } from "../src/store/open.ts";
import { connectRedis, type RedisStoreOptions } from "../src/store/redis.ts";
import { parseStoreUrl, type RedisStoreUrl } from "../src/store/url.ts";
import { StreamConsumer, type StreamConsumerArgs } from "../src/stream/consumer.ts";
import { entryRules } from "../src/stream/entry.ts";
import { EventLog } from "../src/stream/eventLog.ts";
import { codeMaps } from "../src/stream/history.ts";
import { datasetSeeder, type Seeder } from "../src/stream/seed.ts";
import type { StreamStats } from "../src/stream/stats.ts";
import {
  connectTestRedis,
  deletePrefix,
  freshPrefix,
  inCi,
  redisTarget,
  redisUrl,
  suiteName,
} from "../src/stream/testRedis.ts";
import { ctxrecInProcess, repoRoot } from "./cli.ts";

const admin = await connectTestRedis();
const reachable = admin !== null;
const root = mkdtempSync(path.join(os.tmpdir(), "ctxrec-stream-e2e-"));
const worldDir = path.join(root, "world");
const modelDir = path.join(root, "model");
let ds: CompiledDataset;
let version: string;
let onnx: OnnxModelHandle;
/** `ctxrec encode`'s state of every user with events. */
const reference = new Map<string, StateEntry>();

/** The i-th user with events (in the reference's order), so that tests pick users that have some. */
const pick = (i: number): string => [...reference.keys()][i];

/** One event as a producer XADDs it. */
interface Ev {
  user: string;
  item: string;
  ts: number;
  type?: string;
}

/** Every event of `ds`, in time order across users (ties keep each user's order, as a log would). */
function streamOrder(d: CompiledDataset): Ev[] {
  const out: Ev[] = [];
  for (let u = 1; u < d.offsets.length - 1; u++) {
    for (let e = d.offsets[u]; e < d.offsets[u + 1]; e++) {
      const t = d.types[e];
      out.push({
        user: d.userVocab.names[u],
        item: d.itemVocab.names[d.items[e]],
        ts: d.timestamps[e],
        ...(t === 1 ? {} : { type: d.typeVocab.names[t] }),
      });
    }
  }
  // Array.prototype.sort is stable: same-time events keep their per-user order.
  return out.sort((a, b) => a.ts - b.ts);
}

const prefixes: string[] = [];
const cleanups: (() => Promise<unknown> | unknown)[] = [];
const children: ChildProcess[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const bytes = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

beforeAll(async () => {
  if (!reachable) return;
  ds = await tinyWorld(root, 5);
  const saved = await saveTinyModel(ds, modelDir, 7);
  disposeModel(saved.model);
  version = saved.version;
  const refUrl = `file:${path.join(root, "reference.db")}`;
  await ctxrecInProcess(registerEncodeCommand, [
    "encode",
    "--model",
    modelDir,
    "--format",
    "jsonl",
    "--path",
    worldDir,
    "--store",
    refUrl,
    "--threads",
    "1",
  ]);
  const s = await openFeatureStore(refUrl, { modelVersion: version, dim: 16 });
  const users = ds.userVocab.names.slice(1);
  for (const [i, e] of (await s.getMany(users)).entries()) if (e !== undefined) reference.set(users[i], e);
  await s.close();
  onnx = await openOnnxModel(modelDir, { threads: 1 });
}, 120_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const f of cleanups.reverse()) await f();
  if (admin !== null) for (const p of prefixes) await deletePrefix(admin, p);
  admin?.disconnect();
  await onnx?.close();
  rmSync(root, { recursive: true, force: true });
});

/** A stream key, group and event-log prefix of the test's own. */
function freshStream(): { stream: string; group: string; logPrefix: string } {
  const p = freshPrefix("stream");
  prefixes.push(p);
  return { stream: `${p}:events`, group: "g", logPrefix: `${p}:ev` };
}

/** A test's own stream and store, the users picked by index, and their events in stream order. */
async function setUpCase(picks: number[]) {
  const t = freshStream();
  const url = await freshStore();
  const users = picks.map(pick);
  const events = streamOrder(ds).filter((e) => users.includes(e.user));
  return { t, url, users, events };
}

/** XADDs `events` (or raw field lists) to `stream` in order; returns the entry ids. */
async function xadd(redis: Redis, stream: string, events: readonly (Ev | string[])[]): Promise<string[]> {
  const p = redis.pipeline();
  for (const e of events) {
    const fields = Array.isArray(e)
      ? e
      : ["user", e.user, "item", e.item, "ts", String(e.ts), ...(e.type ? ["type", e.type] : [])];
    p.xadd(stream, "*", ...fields);
  }
  return ((await p.exec()) ?? []).map(([err, id]) => {
    if (err) throw err;
    return id as string;
  });
}

/** Where a test's states go: a SQLite file, or a Redis store under a key prefix of its own. */
interface StoreSpec {
  url: string;
  options?: RedisStoreOptions;
}

/** Opens the model's namespace of `spec`. */
const openStore = (spec: StoreSpec, mode: "read" | "write" = "read") =>
  openFeatureStore(spec.url, { modelVersion: version, dim: 16, mode }, spec.options);

let nStore = 0;
/** A fresh store whose active version is the model's (empty), as after a day's batch. */
async function freshStore(kind: "file" | "redis" = "file"): Promise<StoreSpec> {
  let spec: StoreSpec = { url: `file:${path.join(root, `stream-${nStore++}.db`)}` };
  if (kind === "redis") {
    const keyPrefix = freshPrefix("fs");
    prefixes.push(keyPrefix);
    spec = { url: redisUrl, options: { keyPrefix } };
  }
  const s = await openStore(spec, "write");
  await s.activate();
  await s.close();
  return spec;
}

interface Running {
  consumer: StreamConsumer;
  done: Promise<StreamStats>;
  lines: string[];
  store: FeatureStore;
  stop(): Promise<StreamStats>;
}

/** A consumer on its own Redis connection and store handle, running. */
async function startConsumer(
  t: { stream: string; group: string; logPrefix: string },
  storeSpec: StoreSpec,
  name: string,
  opts: {
    seeder?: Seeder;
    encoder?: OnnxModelHandle["encoder"];
    args?: Partial<StreamConsumerArgs>;
    server?: RedisStoreUrl;
  } = {},
): Promise<Running> {
  const redis = await connectRedis(opts.server ?? redisTarget, redisUrl, 2000);
  const store = await openStore(storeSpec, "write");
  const vocabs = readModelVocabs(modelDir);
  const lines: string[] = [];
  const consumer = new StreamConsumer(
    redis,
    {
      log: new EventLog(redis, { prefix: t.logPrefix, cap: onnx.maxLen + 1 }),
      encoder: opts.encoder ?? onnx.encoder,
      store,
      maps: codeMaps(vocabs),
      maxLen: onnx.maxLen,
      seeder: opts.seeder,
      rules: entryRules(vocabs, { knownUser: opts.seeder?.knownUser }),
    },
    {
      stream: t.stream,
      group: t.group,
      consumer: name,
      start: "0",
      batchSize: 32,
      maxWaitMs: 5,
      idleBlockMs: 100,
      log: (l) => lines.push(l),
      ...opts.args,
    },
  );
  const done = consumer.run();
  done.catch(() => undefined);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    redis.disconnect();
    await store.close();
  };
  cleanups.push(async () => {
    consumer.stop();
    await done.catch(() => undefined);
    await close();
  });
  return {
    consumer,
    done,
    lines,
    store,
    async stop() {
      consumer.stop();
      try {
        return await done;
      } finally {
        await close();
      }
    },
  };
}

/** Waits until `test()` holds, polling; fails naming `what` after `ms`. */
async function until(test: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(50)) if (await test()) return;
  throw new Error(`timed out waiting for ${what}`);
}

/** Entries of the group not yet acknowledged. */
async function pending(redis: Redis, t: { stream: string; group: string }): Promise<number> {
  const [count] = (await redis.xpending(t.stream, t.group)) as [number];
  return Number(count);
}

/** Waits until consumers have acknowledged `n` entries in all. */
function untilAcked(rs: readonly Running[], n: number, what = `${n} entries acknowledged`): Promise<void> {
  return until(() => rs.reduce((a, r) => a + r.consumer.stats.entries, 0) >= n, what);
}

/** The store's states of `users` equal `ctxrec encode`'s, byte for byte, with the same computedAt. */
async function expectReference(spec: StoreSpec, users: Iterable<string>): Promise<number> {
  const names = [...users];
  const s = await openStore(spec);
  try {
    const got = await s.getMany(names);
    let same = 0;
    for (const [i, user] of names.entries()) {
      const want = reference.get(user) as StateEntry;
      expect(got[i], `state of ${user}`).toBeDefined();
      expect(got[i]?.computedAt, `computedAt of ${user}`).toBe(want.computedAt);
      expect(bytes(got[i]?.vector as Float32Array).equals(bytes(want.vector)), `vector of ${user}`).toBe(
        true,
      );
      same++;
    }
    return same;
  } finally {
    await s.close();
  }
}

describe.skipIf(!reachable && !inCi)(suiteName("ctxrec stream", reachable), () => {
  it(`a Redis server answers at ${redisUrl}${inCi ? " (required under CI)" : ""}`, () => {
    expect(reachable, `no Redis server reachable at ${redisUrl}`).toBe(true);
  });

  it("two consumers of one group share the whole world's events; every state equals `ctxrec encode`'s byte for byte", async () => {
    const t = freshStream();
    const url = await freshStore();
    const events = streamOrder(ds);
    await xadd(admin as Redis, t.stream, events);
    const a = await startConsumer(t, url, "a");
    const b = await startConsumer(t, url, "b");
    await untilAcked([a, b], events.length);
    const [sa, sb] = [await a.stop(), await b.stop()];
    // Both took part, nothing was read twice or lost, and nothing is left pending.
    expect(sa.entries).toBeGreaterThan(0);
    expect(sb.entries).toBeGreaterThan(0);
    expect(sa.entries + sb.entries).toBe(events.length);
    // Every event was added to its log, or skipped: when the other consumer had already filled
    // the user's log with L + 1 newer events, an older one could not change the state.
    expect(sa.newEvents + sb.newEvents + sa.duplicates + sb.duplicates).toBe(events.length);
    expect(sa.newEvents + sb.newEvents).toBeGreaterThan(0.95 * events.length);
    expect(sa.malformed + sb.malformed).toBe(0);
    expect(await pending(admin as Redis, t)).toBe(0);
    expect(await expectReference(url, reference.keys())).toBe(reference.size);
    expect(sa.lag.count + sb.lag.count).toBe(events.length);
  }, 60_000);

  it("seeded from a day-old copy of the data, the stream of the newer events brings every touched user to `ctxrec encode`'s state", async () => {
    const events = streamOrder(ds);
    const cut = events[Math.floor(events.length / 2)].ts;
    // The data as the daily batch saw it: every event before the cut-off.
    const cutDir = path.join(root, "cut");
    mkdirSync(cutDir, { recursive: true });
    for (const f of ["items.jsonl", "users.jsonl"])
      copyFileSync(path.join(worldDir, f), path.join(cutDir, f));
    const lines = readFileSync(path.join(worldDir, "events.jsonl"), "utf8").split("\n").filter(Boolean);
    writeFileSync(
      path.join(cutDir, "events.jsonl"),
      `${lines.filter((l) => (JSON.parse(l) as { timestamp: number }).timestamp < cut).join("\n")}\n`,
    );
    const cutDs = await loadDataset({ format: "jsonl", path: cutDir });
    const fresh = events.filter((e) => e.ts >= cut);
    const t = freshStream();
    const url = await freshStore();
    await xadd(admin as Redis, t.stream, fresh);
    const c = await startConsumer(t, url, "seeded", { seeder: datasetSeeder(cutDs, onnx.maxLen + 1) });
    await untilAcked([c], fresh.length);
    const s = await c.stop();
    const touched = new Set(fresh.map((e) => e.user));
    // Users with history before the cut were seeded from it; the rest had no log and no data.
    const before = [...touched].filter((u) => {
      const code = cutDs.userVocab.get(u);
      return code !== undefined && cutDs.offsets[code + 1] > cutDs.offsets[code];
    });
    expect(before.length).toBeGreaterThan(10);
    expect(s.seeded).toBe(before.length);
    expect(s.newEvents).toBe(fresh.length);
    expect(await expectReference(url, touched)).toBe(touched.size);
  }, 60_000);

  it("a malformed entry is counted, logged with its id and field, and acknowledged; the consumer goes on", async () => {
    const {
      t,
      url,
      users: [ua, ub],
      events: good,
    } = await setUpCase([1, 2]);
    const bad = [
      ["user", ua, "item", "no-such-item", "ts", "1700000000"],
      ["user", ua, "item", good[0].item, "ts", "yesterday"],
      ["user", ub, "item", good[0].item, "ts", "1700000000", "type", "teleport"],
      ["item", good[0].item, "ts", "1700000000"],
      ["user", ub, "item", good[0].item, "ts", String(Date.now() / 1000 + 86_400)],
      ["user", "stranger", "item", good[0].item, "ts", "1700000000"],
    ];
    // Malformed entries first, between and after the good ones.
    const mixed: (Ev | string[])[] = [
      bad[0],
      ...good.slice(0, 5),
      bad[1],
      bad[2],
      ...good.slice(5),
      bad[3],
      bad[4],
      bad[5],
    ];
    const ids = await xadd(admin as Redis, t.stream, mixed);
    const c = await startConsumer(t, url, "m", { seeder: datasetSeeder(ds, 0) });
    await untilAcked([c], mixed.length);
    const s = await c.stop();
    expect(s.malformed).toBe(bad.length);
    expect(s.malformedByField).toEqual({ item: 1, ts: 2, type: 1, user: 2 });
    expect(s.newEvents).toBe(good.length);
    expect(await pending(admin as Redis, t)).toBe(0);
    const idOf = (e: string[]) => ids[mixed.indexOf(e)];
    expect(c.lines).toContain(
      `malformed entry ${idOf(bad[0])}: field item "no-such-item" is not an item of the model; acknowledged and skipped`,
    );
    expect(c.lines.find((l) => l.includes(idOf(bad[1])))).toMatch(/field ts "yesterday" is not Unix seconds/);
    expect(c.lines.find((l) => l.includes(idOf(bad[5])))).toMatch(
      /field user "stranger" is not a known user/,
    );
    // The good events made it: both users hold `ctxrec encode`'s states.
    expect(await expectReference(url, [ua, ub])).toBe(2);
  }, 60_000);

  it("entries of consumers killed before their ack are claimed by another, which writes what they could not (Redis store)", async () => {
    const t = freshStream();
    const url = await freshStore("redis");
    const all = streamOrder(ds);
    const users = [pick(3), pick(4), pick(5), pick(6)];
    const first = all.filter((e) => e.user === users[0] || e.user === users[1]);
    const second = all.filter((e) => e.user === users[2] || e.user === users[3]);
    // "dead": read its entries and was killed before doing anything with them.
    await xadd(admin as Redis, t.stream, first);
    await (admin as Redis).xgroup("CREATE", t.stream, t.group, "0");
    await (admin as Redis).xreadgroup("GROUP", t.group, "dead", "COUNT", 1000, "STREAMS", t.stream, ">");
    // "dying": appended its entries to the logs, then failed inside the encoder and stopped.
    await xadd(admin as Redis, t.stream, second);
    const failing = {
      encode: async () => {
        throw new CtxrecError("CTXREC_ERR_ENGINE", "the encoder crashed (test)");
      },
    };
    // One batch takes all of them, so that every one is pending at "dying" when it stops.
    const dying = await startConsumer(t, url, "dying", {
      encoder: failing as OnnxModelHandle["encoder"],
      args: { batchSize: 1000 },
    });
    await expect(dying.done).rejects.toThrow(
      /the micro-batch of entries \d+-\d+ … \d+-\d+ \(\d+\) failed and stays pending .*the encoder crashed/,
    );
    await expect(dying.done).rejects.toMatchObject({ code: "CTXREC_ERR_ENGINE" });
    expect(await pending(admin as Redis, t)).toBe(first.length + second.length);
    const [rev] = await new EventLog(admin as Redis, { prefix: t.logPrefix, cap: 11 }).revisions([users[2]]);
    expect(rev).toBeGreaterThan(0);

    const heir = await startConsumer(t, url, "heir", { args: { claimIdleMs: 300, claimIntervalMs: 100 } });
    await untilAcked([heir], first.length + second.length);
    const s = await heir.stop();
    expect(s.claimed).toBe(first.length + second.length);
    // The dying consumer's events were already in the logs; the dead one's were not.
    expect(s.newEvents).toBe(first.length);
    expect(s.duplicates).toBe(second.length);
    expect(await pending(admin as Redis, t)).toBe(0);
    expect(await expectReference(url, users)).toBe(4);
  }, 60_000);

  it("redelivery of every entry and a producer's repeated XADDs change no state (Redis store)", async () => {
    const t = freshStream();
    const url = await freshStore("redis");
    const events = streamOrder(ds).filter((e) => Number(e.user.slice(1)) % 10 === 0);
    await xadd(admin as Redis, t.stream, events);
    const c = await startConsumer(t, url, "r");
    await untilAcked([c], events.length);
    await c.stop();
    const users = [...new Set(events.map((e) => e.user))];
    const s1 = await openStore(url);
    const before = await s1.getMany(users);
    await s1.close();
    // The whole stream again (the group rewound) plus every event XADDed a second time.
    await (admin as Redis).xgroup("SETID", t.stream, t.group, "0");
    await xadd(admin as Redis, t.stream, events);
    const again = await startConsumer(t, url, "r2");
    await untilAcked([again], 2 * events.length);
    const s = await again.stop();
    expect(s.newEvents).toBe(0);
    expect(s.duplicates).toBe(2 * events.length);
    const s2 = await openStore(url);
    const after = await s2.getMany(users);
    await s2.close();
    for (const [i, e] of after.entries()) {
      expect(e?.computedAt).toBe(before[i]?.computedAt);
      expect(bytes(e?.vector as Float32Array).equals(bytes(before[i]?.vector as Float32Array))).toBe(true);
    }
    expect(await expectReference(url, users)).toBe(users.length);
  }, 60_000);

  it("Redis taken down mid-stream: the consumer retries with back-off and resumes; no event is lost", async () => {
    const server = await startServer();
    cleanups.push(() => server.destroy());
    const target = parseStoreUrl(server.url) as RedisStoreUrl;
    const producer = await connectRedis(target, server.url, 2000);
    cleanups.push(() => producer.disconnect());
    const t = { stream: "events", group: "g", logPrefix: "ctxrec:ev" };
    const url = await freshStore();
    const all = streamOrder(ds);
    const [u7, u8] = [pick(7), pick(8)];
    const early = all.filter((e) => e.user === u7);
    const lateOnly = all.filter((e) => e.user === u8);
    await xadd(producer, t.stream, early);
    const c = await startConsumer(t, url, "survivor", {
      server: target,
      args: { backoffMs: 50, maxBackoffMs: 200 },
    });
    await untilAcked([c], early.length);
    await server.stop();
    await until(() => c.consumer.stats.retries >= 2, "retries while the server is down");
    await server.start();
    await until(() => producer.status === "ready", "the producer to reconnect");
    await xadd(producer, t.stream, lateOnly);
    await untilAcked([c], early.length + lateOnly.length);
    const s = await c.stop();
    expect(s.retries).toBeGreaterThanOrEqual(2);
    expect(c.lines.some((l) => /batch failed .*retrying from the pending list in \d+ ms/.test(l))).toBe(true);
    expect(await pending(producer, t)).toBe(0);
    expect(await expectReference(url, [u7, u8])).toBe(2);
  }, 60_000);

  it("`ctxrec stream` writes states, and on SIGTERM finishes its batch, acknowledges it and exits 0", async () => {
    const {
      t,
      url,
      users: [u9, u10],
      events,
    } = await setUpCase([9, 10]);
    const args = [
      ...["--model", modelDir, "--events", `${redisUrl}/${encodeURIComponent(t.stream)}`, "--store", url.url],
      ...["--group", t.group, "--consumer", "cli", "--from-start", "--log-prefix", t.logPrefix],
      ...["--threads", "1", "--stats-interval", "1", "--stats-json", path.join(root, "cli-stats.json")],
      ...["--format", "jsonl", "--path", worldDir],
    ];
    const argv = ["--import", "tsx", path.join(repoRoot, "src/cli/main.ts"), "stream", ...args];
    const child = spawn(process.execPath, argv, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d) => (stdout += String(d)));
    child.stderr?.on("data", (d) => (stderr += String(d)));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    await until(() => stderr.includes("stop with Ctrl-C"), "the consumer to start", 40_000);
    await xadd(admin as Redis, t.stream, events);
    await until(async () => (await expectStored(url, [u9, u10])) === 2, "the two states", 20_000);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/stopping after the micro-batch in hand/);
    expect(stdout).toMatch(new RegExp(`^${events.length} entries .* 0 malformed`, "m"));
    const json = JSON.parse(readFileSync(path.join(root, "cli-stats.json"), "utf8"));
    expect(json).toMatchObject({ entries: events.length, malformed: 0, lag: { count: events.length } });
    expect(json.lag.p50Seconds).toBeGreaterThanOrEqual(0);
    expect(json.lag.p99Seconds).toBeGreaterThanOrEqual(json.lag.p50Seconds);
    expect(await pending(admin as Redis, t)).toBe(0);
    expect(await expectReference(url, [u9, u10])).toBe(2);
  }, 90_000);

  it("bad flags are refused naming them", async () => {
    const never = `file:${path.join(root, "never.db")}`;
    const run = (store: string, extra: string[]) =>
      ctxrecInProcess(registerStreamCommand, ["stream", "--model", modelDir, "--store", store, ...extra]);
    await expect(run(never, ["--events", redisUrl])).rejects.toThrow(
      /--events.*names no stream.*database number/,
    );
    await expect(run(never, ["--events", `${redisUrl}/e`, "--batch-size", "0"])).rejects.toThrow(
      /--batch-size/,
    );
    await expect(run(never, ["--events", `${redisUrl}/e`, "--consumer", "a b"])).rejects.toThrow(
      /--consumer/,
    );
    await expect(run(never, ["--events", `${redisUrl}/e`, "--new-users"])).rejects.toThrow(
      /--new-users only applies/,
    );
    // An events server that does not answer: CTXREC_ERR_STORE naming --events and the server.
    const active = await freshStore();
    await expect(run(active.url, ["--events", "redis://127.0.0.1:1/0/e"])).rejects.toThrow(
      /^parameter --events: .*ECONNREFUSED.*redis:\/\/127\.0\.0\.1:1\/0\/e/,
    );
    // A store whose active version is another model's: refused before anything is consumed.
    const other = `file:${path.join(root, "other.db")}`;
    const s = await openFeatureStore(other, { modelVersion: "old-v", dim: 16, mode: "write" });
    await s.activate();
    await s.close();
    await expect(run(other, ["--events", `${redisUrl}/e`])).rejects.toThrow(/active version is old-v/);
  }, 60_000);
});

/** How many of `users` have a state in the store at `url`. */
async function expectStored(spec: StoreSpec, users: string[]): Promise<number> {
  const s = await openStore(spec);
  try {
    return (await s.getMany(users)).filter((e) => e !== undefined).length;
  } finally {
    await s.close();
  }
}
