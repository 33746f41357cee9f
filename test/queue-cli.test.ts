/**
 * End-to-end sharded offline batch on BullMQ against a real redis-server: `ctxrec encode --queue …
 * --shards N` with `ctxrec worker` processes, on a synthetic world with a (randomly initialised,
 * saved and ONNX-exported) model. A worker SIGKILLed mid-shard loses nothing and the stored
 * vectors equal a single-process `ctxrec encode` bit for bit; a failed shard fails the run naming
 * it and leaves the active version; bad flags are refused naming the flag.
 *
 * Redis: CTXREC_TEST_REDIS_URL, default redis://127.0.0.1:6379/15; every test uses its own queue
 * name (obliterated afterwards). Outside CI an unreachable server skips the suite with the reason
 * in its name; under CI (`CI` set) it runs and fails.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerEncodeCommand } from "../src/cli/commands/encode.ts";
import { registerWorkerCommand } from "../src/cli/commands/worker.ts";
import { Rng } from "../src/core/rng.ts";
import type { CompiledDataset } from "../src/data/dataset.ts";
import { loadDataset } from "../src/data/load.ts";
import { initEngine } from "../src/engine/backend.ts";
import { saveModel } from "../src/model/artifact.ts";
import { resolveModelConfig } from "../src/model/config.ts";
import { itemFeaturesOf } from "../src/model/itemFeatures.ts";
import { createModel, disposeModel } from "../src/model/model.ts";
import { vocabSizesOf } from "../src/model/vocabSizes.ts";
import {
  checkQueueReachable,
  parseQueueUrl,
  queueConnection,
  type ShardJob,
  type ShardProgress,
  shardedEncodeIntoStore,
} from "../src/offline/shardQueue.ts";
import { type ShardWorker, startShardWorker } from "../src/offline/shardWorker.ts";
import { exportOnnx } from "../src/onnx/export.ts";
import type { StateEntry } from "../src/store/featureStore.ts";
import { openFeatureStore } from "../src/store/open.ts";
import type { RedisStoreUrl } from "../src/store/url.ts";
import { generateWorld } from "../src/synth/generate.ts";
import { ctxrecInProcess, repoRoot } from "./cli.ts";

const redisUrl = process.env.CTXREC_TEST_REDIS_URL ?? "redis://127.0.0.1:6379/15";
const target: RedisStoreUrl = parseQueueUrl(redisUrl);
const inCi = process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false";
const reachable = await checkQueueReachable(target).then(
  () => true,
  () => false,
);
const skipReason = `skipped: no Redis server at ${redisUrl} (start one: redis-server --port 6379 --bind 127.0.0.1 --daemonize yes)`;

const D = 16;
const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-queue-e2e-"));
const worldDir = path.join(tmp, "world");
const modelDir = path.join(tmp, "model");
const data = ["--format", "jsonl", "--path", worldDir];
let ds: CompiledDataset;
let version: string;
/** Ids of the users with at least one event (the ones encode visits). */
let active: string[];
/** Short lock and stalled check so that a dead worker's shard is retried within about a second. */
const fastStall = { lockDuration: 1000, stalledInterval: 500, threads: 1 };

let nQueue = 0;
const queueNames: string[] = [];
/** A queue name of its own for each test. */
function freshQueueName(): string {
  const name = `ctxrec-test-${process.pid}-${Date.now().toString(36)}-${nQueue++}`;
  queueNames.push(name);
  return name;
}
/** `ctxrec encode` of the test world into `url` as `shards` jobs on the queue `name`, then `extra`. */
function shardedEncodeArgs(url: string, name: string, shards: number, ...extra: string[]): string[] {
  return [
    "encode",
    "--model",
    modelDir,
    ...data,
    "--store",
    url,
    "--queue",
    redisUrl,
    "--queue-name",
    name,
    "--shards",
    String(shards),
    ...extra,
  ];
}
const workers: ShardWorker[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  if (!reachable) return;
  await initEngine();
  // 3,000 users in 2 shards of ~1,500, written 4 per chunk: ~375 chunks per shard, so a SIGKILL
  // sent after the first chunk lands mid-shard.
  await generateWorld({ preset: "tiny", seed: 5, overrides: { users: 3000 }, outDir: worldDir });
  ds = await loadDataset({ format: "jsonl", path: worldDir });
  const cfg = resolveModelConfig({
    encoder: { dim: D, blocks: 1, heads: 2, ffn: 32, maxLen: 20 },
    context: { dim: D },
    fusion: { hidden: D },
  });
  const m = createModel(cfg, vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(3));
  try {
    version = saveModel(modelDir, m, { dataset: ds }).version;
  } finally {
    disposeModel(m);
  }
  await exportOnnx(modelDir);
  active = [];
  for (let u = 1; u < ds.offsets.length - 1; u++) {
    if (ds.offsets[u + 1] > ds.offsets[u]) active.push(ds.userVocab.names[u]);
  }
}, 120_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const w of workers) await w.close();
  if (reachable) {
    for (const name of queueNames) {
      const q = new Queue(name, { connection: queueConnection(target) });
      await q.obliterate({ force: true });
      await q.close();
    }
  }
  rmSync(tmp, { recursive: true, force: true });
});

function ctxrec(args: string[]): Promise<string> {
  return ctxrecInProcess((program) => {
    registerEncodeCommand(program);
    registerWorkerCommand(program);
  }, args);
}

const storeUrl = (name: string) => `file:${path.join(tmp, name)}`;

/** The store `url`'s states of every active user under the model's version. */
async function readAll(url: string): Promise<(StateEntry | undefined)[]> {
  const s = await openFeatureStore(url, { modelVersion: version, dim: D });
  try {
    return await s.getMany(active);
  } finally {
    await s.close();
  }
}

/** A store at `url` whose active version is "old-v" (one state), as a previous day's run leaves it. */
async function storeWithOldVersion(url: string): Promise<void> {
  const old = await openFeatureStore(url, { modelVersion: "old-v", dim: D, mode: "write" });
  await old.putMany([
    { user: active[0], vector: new Float32Array(D).fill(1), modelVersion: "old-v", computedAt: 1 },
  ]);
  await old.activate();
  await old.close();
}

async function activeVersionOf(url: string): Promise<string | undefined> {
  const s = await openFeatureStore(url, { modelVersion: "old-v", dim: D });
  try {
    return await s.activeVersion();
  } finally {
    await s.close();
  }
}

const bytes = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!reachable && !inCi)(
  !reachable && !inCi ? `ctxrec encode --queue (${skipReason})` : "ctxrec encode --queue",
  () => {
    it(`a Redis server answers at ${redisUrl}${inCi ? " (required under CI)" : ""}`, () => {
      expect(reachable, `no Redis server reachable at ${redisUrl}`).toBe(true);
    });

    it("a worker SIGKILLed mid-shard loses nothing: another worker retries the shard and the vectors equal a single-process encode bit for bit", async () => {
      const name = freshQueueName();
      const url = storeUrl("sharded.db");
      await storeWithOldVersion(url);
      const run = ctxrec(shardedEncodeArgs(url, name, 2, "--batch-size", "4", "--threads", "1"));
      run.catch(() => undefined);

      // Worker A: its own process, killed without warning once it has written a chunk of a shard.
      const child = spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          path.join(repoRoot, "src/cli/main.ts"),
          "worker",
          "--queue",
          redisUrl,
          "--queue-name",
          name,
          "--threads",
          "1",
          "--lock-duration",
          "1000",
          "--stalled-interval",
          "500",
        ],
        { cwd: repoRoot, stdio: "ignore" },
      );
      children.push(child);
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.on("exit", (_c, sig) => resolve(sig)),
      );
      const queue = new Queue<ShardJob>(name, { connection: queueConnection(target) });
      let killedJob: string | undefined;
      let progressAtKill: ShardProgress | undefined;
      try {
        while (killedJob === undefined) {
          expect(child.exitCode, "worker A exited before taking a shard").toBeNull();
          for (const job of await queue.getJobs(["active"])) {
            const p = job.progress as Partial<ShardProgress>;
            if (typeof p === "object" && typeof p.done === "number" && p.done >= 8) {
              child.kill("SIGKILL");
              killedJob = job.id;
              progressAtKill = p as ShardProgress;
              break;
            }
          }
          if (killedJob === undefined) await sleep(5);
        }
        expect(await exited).toBe("SIGKILL");
        const killed = await queue.getJob(killedJob);
        // The kill landed mid-shard: the job is still "active" (its lock not yet expired), unfinished.
        expect(await killed?.getState()).toBe("active");
        expect(progressAtKill?.done).toBeLessThan(killed?.data.users ?? 0);
        expect(await activeVersionOf(url)).toBe("old-v");
      } finally {
        await queue.close();
      }

      // Worker B, in this process: its stalled check finds A's job and runs the shard again.
      const lines: string[] = [];
      workers.push(
        startShardWorker({ url: target, name }, { ...fastStall, concurrency: 2, log: (l) => lines.push(l) }),
      );
      const out = await run;
      expect(out).toMatch(/in 2 shards/);
      expect(out).toContain(`active version: ${version}`);
      expect(lines.some((l) => l.startsWith(`job ${killedJob}: shard`))).toBe(true);
      expect(lines.some((l) => l.startsWith(`job ${killedJob}: done`))).toBe(true);

      // The reference: one process, no queue, chunks of 16 (other chunks than the shards' 4).
      await ctxrec([
        "encode",
        "--model",
        modelDir,
        ...data,
        "--store",
        storeUrl("single.db"),
        "--batch-size",
        "16",
      ]);
      const sharded = await readAll(url);
      const single = await readAll(storeUrl("single.db"));
      expect(sharded.every((e) => e !== undefined)).toBe(true);
      let same = 0;
      for (let i = 0; i < active.length; i++) {
        const a = sharded[i] as StateEntry;
        const b = single[i] as StateEntry;
        expect(a.computedAt).toBe(b.computedAt);
        expect(a.modelVersion).toBe(version);
        if (bytes(a.vector).equals(bytes(b.vector))) same++;
      }
      expect(same).toBe(active.length);
    }, 120_000);

    it("with --since, the shards encode only users with newer events and the active version stays", async () => {
      const name = freshQueueName();
      const url = storeUrl("since.db");
      await storeWithOldVersion(url);
      workers.push(startShardWorker({ url: target, name }, fastStall));
      const newest = active.map((id) => {
        const u = ds.userVocab.get(id) as number;
        return ds.timestamps[ds.offsets[u + 1] - 1];
      });
      const since = [...newest].sort((a, b) => a - b)[Math.floor(newest.length / 2)];
      const after = newest.filter((t) => t > since).length;
      const out = await ctxrec(shardedEncodeArgs(url, name, 3, "--since", String(since)));
      expect(out).toContain(
        `encoded ${after.toLocaleString("en-US")} users (0 already up to date) in 3 shards`,
      );
      expect(out).toContain("active version unchanged: old-v");
      expect(await activeVersionOf(url)).toBe("old-v");
      const entries = await readAll(url);
      for (let i = 0; i < active.length; i++) expect(entries[i] !== undefined).toBe(newest[i] > since);
    }, 60_000);

    it("a shard whose worker holds another model version fails the run naming the shard; the active version stays", async () => {
      const name = freshQueueName();
      const url = storeUrl("mismatch.db");
      await storeWithOldVersion(url);
      workers.push(startShardWorker({ url: target, name }, fastStall));
      await expect(
        shardedEncodeIntoStore(
          ds,
          { url: target, name },
          {
            shards: 2,
            // The coordinator encodes a version the workers' model folder does not hold.
            model: { dir: modelDir, version: "another-version", dim: D, maxLen: 20 },
            data: { format: "jsonl", path: worldDir, skipInvalid: false },
            store: url,
            batchSize: 64,
          },
        ),
      ).rejects.toMatchObject({
        code: "CTXREC_ERR_ARTIFACT_VERSION",
        message: expect.stringMatching(
          new RegExp(
            `shard [01] of 2 \\(job .*\\) failed: CTXREC_ERR_ARTIFACT_VERSION: .*holds version ${version}, the run encodes version another-version.*active store version is unchanged`,
          ),
        ),
      });
      expect(await activeVersionOf(url)).toBe("old-v");
    }, 60_000);

    it("a shard whose data is missing on the worker fails the run with the data error; the active version stays", async () => {
      const name = freshQueueName();
      const url = storeUrl("baddata.db");
      await storeWithOldVersion(url);
      workers.push(startShardWorker({ url: target, name }, fastStall));
      const gone = path.join(tmp, "not-there");
      await expect(
        shardedEncodeIntoStore(
          ds,
          { url: target, name },
          {
            shards: 3,
            model: { dir: modelDir, version, dim: D, maxLen: 20 },
            data: { format: "jsonl", path: gone, skipInvalid: false },
            store: url,
            batchSize: 64,
          },
        ),
      ).rejects.toMatchObject({
        code: "CTXREC_ERR_DATA_MISSING_FILE",
        message: expect.stringMatching(
          /shard [012] of 3 \(job .*\) failed: CTXREC_ERR_DATA_MISSING_FILE: .*not-there/,
        ),
      });
      expect(await activeVersionOf(url)).toBe("old-v");
    }, 60_000);

    it("refuses a bad --queue URL or --shards value naming the flag", async () => {
      const base = ["encode", "--model", modelDir, ...data, "--store", storeUrl("flags.db")];
      const cases: [string[], string, RegExp][] = [
        [["--queue", "http://127.0.0.1:6379", "--shards", "2"], "--queue", /redis:\/\/HOST:PORT\[\/DB\]/],
        [["--queue", "file:q.db", "--shards", "2"], "--queue", /not a Redis server URL/],
        [["--queue", "redis://127.0.0.1:99999", "--shards", "2"], "--queue", /not a valid URL/],
        [["--queue", redisUrl, "--shards", "0"], "--shards", /integer in \[1, 4096\], got 0/],
        [["--queue", redisUrl, "--shards", "two"], "--shards", /'two' is not a number/],
        [["--queue", redisUrl], "--shards", /--shards 16/],
        [["--shards", "4"], "--shards", /needs --queue/],
        [
          ["--queue", redisUrl, "--shards", "2", "--queue-name", "a:b"],
          "--queue-name",
          /queue name "a:b" is invalid/,
        ],
      ];
      for (const [flags, param, message] of cases) {
        await expect(ctxrec([...base, ...flags]), flags.join(" ")).rejects.toMatchObject({
          code: "CTXREC_ERR_ARG",
          location: { param },
          message: expect.stringMatching(message),
        });
      }
      await expect(ctxrec(["worker", "--queue", "redis-cluster://a:1,b:2"])).rejects.toMatchObject({
        code: "CTXREC_ERR_ARG",
        location: { param: "--queue" },
      });
      // Nothing listens on port 1: refused at once, named, instead of BullMQ retrying forever.
      await expect(
        ctxrec([...base, "--queue", "redis://127.0.0.1:1/0", "--shards", "2"]),
      ).rejects.toMatchObject({
        code: "CTXREC_ERR_STORE",
        location: { param: "--queue" },
        message: expect.stringMatching(/no Redis server answers at redis:\/\/127\.0\.0\.1:1\/0/),
      });
    });
  },
);
