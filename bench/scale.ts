/**
 * Scaling figures (issue #13 part 5): on a real local 3-master Redis Cluster (loopback ports,
 * started and torn down here, also on failure or Ctrl-C, by src/store/fixtures/redisCluster.ts)
 * and a private single redis-server beside it:
 *
 *  (a) the sharded offline batch through BullMQ: users/s with 1 and with 2 `ctxrec worker`
 *      processes (1 ORT thread each, so a worker is a core) on the same world, the cluster as the
 *      store, the queue on the single server; the coordinator is this process
 *      (`shardedEncodeIntoStore`, what `ctxrec encode --queue` runs). The cluster is flushed before
 *      each run, so every run encodes every user; the figure is users / (enqueue → last shard
 *      done), so it includes each worker's start-up for the run (model open, data load);
 *  (b) feature-store `get` (1 user) and `getMany` (`--get-many-size`, 256) p50/p99 per call on
 *      the single server against the cluster, after a `putMany` fill (its users/s too), and the
 *      server memory per stored user;
 *  (c) `ctxrec serve --workers N` req/s over the cluster store (autocannon, closed loop, short);
 *      `--serve-seconds 0` skips it.
 *
 * Then the capacity on paper (bench/capacity.ts) from those figures. The machine and the 1-minute
 * load average at the start and end of every figure are recorded: a shared machine gives load-bound
 * figures, and the table says so.
 *
 *   npm run bench:scale -- --quick      # 40k users, 20k stored, 5 s of serving per row (≈2–3 min)
 *   npm run bench:scale                 # 200k users, 100k stored, 15 s of serving per row
 * Flags: --users N, --shards 16, --data artifact|jsonl (what the workers read; artifact: the
 *   compiled snapshot `ctxrec data compile` writes, reloaded without parsing), --workers 1,2, --threads 1, --batch-size 512, --store-users N,
 *   --gets N, --get-many N, --get-many-size 256, --serve-seconds S, --serve-workers 1,2,
 *   --connections 16, --port-base 27100 (cluster on BASE..BASE+2, single server on BASE+3), --out scale
 * Writes bench/results/OUT.json and OUT.md.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Cluster, Redis } from "ioredis";
import { Rng } from "../src/core/rng.ts";
import { saveDataset } from "../src/data/artifact.ts";
import { parseQueueUrl, shardedEncodeIntoStore } from "../src/offline/shardQueue.ts";
import type { FeatureStore, StateEntry } from "../src/store/featureStore.ts";
import { startCluster, startServer as startRedis } from "../src/store/fixtures/redisCluster.ts";
import { openFeatureStore } from "../src/store/open.ts";
import { encodeCapacity, serveCapacity, storeCapacity } from "./capacity.ts";
import { BENCH_ENCODER, encoderWorld } from "./encoderWorld.ts";
import { closedLoop, startServer } from "./httpLoad.ts";
import { load1, machineInfo, processCpuSeconds, writeResults } from "./machine.ts";

const { values: opt } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    users: { type: "string" },
    shards: { type: "string", default: "16" },
    data: { type: "string", default: "artifact" },
    workers: { type: "string", default: "1,2" },
    threads: { type: "string", default: "1" },
    "batch-size": { type: "string", default: "512" },
    "store-users": { type: "string" },
    gets: { type: "string" },
    "get-many": { type: "string" },
    "get-many-size": { type: "string", default: "256" },
    "serve-seconds": { type: "string" },
    "serve-workers": { type: "string", default: "1,2" },
    connections: { type: "string", default: "16" },
    "port-base": { type: "string", default: "27100" },
    out: { type: "string", default: "scale" },
  },
});
const QUICK = opt.quick === true;
const num = (v: string | undefined, quick: number, full: number) => Number(v ?? (QUICK ? quick : full));
const USERS = num(opt.users, 40_000, 200_000);
const STORE_USERS = num(opt["store-users"], 20_000, 100_000);
const GETS = num(opt.gets, 5_000, 20_000);
const GET_MANY = num(opt["get-many"], 200, 1_000);
const GET_MANY_SIZE = Number(opt["get-many-size"]);
const SERVE_SECONDS = num(opt["serve-seconds"], 5, 15);
const SHARDS = Number(opt.shards);
if (opt.data !== "artifact" && opt.data !== "jsonl")
  throw new Error(`--data: artifact or jsonl, got ${opt.data}`);
/** What the workers read: the compiled artifact (reloads without parsing) or the world's JSONL. */
const DATA_FORMAT: "artifact" | "jsonl" = opt.data;
const WORKERS = opt.workers.split(",").map(Number);
const SERVE_WORKERS = opt["serve-workers"].split(",").map(Number);
const THREADS = Number(opt.threads);
const BATCH = Number(opt["batch-size"]);
const CONNECTIONS = Number(opt.connections);
const PORT_BASE = Number(opt["port-base"]);
const D = BENCH_ENCODER.dim;
const repoRoot = path.resolve(import.meta.dirname, "..");
const cli = path.join(repoRoot, "src/cli/main.ts");
const log = (s: string) => process.stderr.write(`[bench:scale] ${s}\n`);
const r1 = (x: number) => Number(x.toFixed(1));
const r3 = (x: number) => Number(x.toFixed(3));
const quantile = (xs: number[], p: number) => {
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
};
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

// ---------------------------------------------------------------- servers, and their teardown
for (let p = PORT_BASE; p <= PORT_BASE + 3; p++) {
  const r = spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(p), "ping"], { encoding: "utf8" });
  if (r.stdout?.trim() === "PONG")
    throw new Error(`port ${p} is taken by a Redis server: pick another --port-base`);
}
const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-bench-scale-"));
const children: ChildProcess[] = [];
const cleanups: (() => void)[] = [];
/** Kills what this bench started and stops its servers; runs once, synchronously. */
function teardown(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const f of cleanups.splice(0).reverse()) {
    try {
      f();
    } catch {}
  }
  rmSync(tmp, { recursive: true, force: true });
}
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.once(sig, () => {
    teardown();
    process.exit(130);
  });

const loadStart = os.loadavg();
const cluster = await startCluster(PORT_BASE);
cleanups.push(() => cluster.stop());
const single = await startRedis(PORT_BASE + 3);
cleanups.push(() => single.destroy());
const singleUrl = `redis://127.0.0.1:${single.port}/0`;
const queueUrl = `redis://127.0.0.1:${single.port}/1`;
const clusterAdmin = new Cluster(cluster.ports.map((port) => ({ host: "127.0.0.1", port })));
const singleAdmin = new Redis(singleUrl);
log(`cluster on ${cluster.ports.join(", ")}, single server on ${single.port} (queue on DB 1)`);

/** Spawns `ctxrec ARGS` through tsx; resolves once its stderr contains `ready`. */
async function spawnCtxrec(args: string[], ready: string) {
  const child = spawn(process.execPath, ["--import", "tsx", cli, ...args], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let err = "";
  child.stderr?.on("data", (d) => {
    err += String(d);
  });
  child.stdout?.resume();
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  for (const t0 = Date.now(); !err.includes(ready); await new Promise((r) => setTimeout(r, 50))) {
    if (child.exitCode !== null || Date.now() - t0 > 120_000)
      throw new Error(`ctxrec ${args[0]} did not start: ${err}`);
  }
  return {
    /** CPU seconds the process has used so far. */
    cpuSeconds: () => processCpuSeconds(child.pid),
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** CPU seconds (user + system) the Redis servers on `nodes` have used so far, summed (INFO cpu). */
async function redisCpuSeconds(nodes: Redis[]): Promise<number> {
  let sum = 0;
  for (const n of nodes) {
    const info = await n.info("cpu");
    for (const f of ["used_cpu_user", "used_cpu_sys"])
      sum += Number(new RegExp(`${f}:([\\d.]+)`).exec(info)?.[1] ?? Number.NaN);
  }
  return sum;
}

/** Bytes Redis holds for data (`used_memory`), summed over the given nodes. */
async function usedMemory(nodes: Redis[]): Promise<number> {
  let sum = 0;
  for (const n of nodes) sum += Number(/used_memory:(\d+)/.exec(await n.info("memory"))?.[1] ?? Number.NaN);
  return sum;
}

try {
  const machine = machineInfo();
  log(`${machine.cpus} CPUs (${machine.cpu}), load average ${loadStart.map((x) => x.toFixed(2)).join(" ")}`);
  const world = await encoderWorld(tmp, USERS);
  const users = world.ds.userVocab.names.slice(1);
  log(
    `world: ${users.length} users, ${world.ds.items.length} events; model d=${D}, L=${BENCH_ENCODER.maxLen}`,
  );

  const dataPath = DATA_FORMAT === "artifact" ? path.join(tmp, "world.ctxdata") : world.worldDir;
  if (DATA_FORMAT === "artifact") saveDataset(world.ds, dataPath);

  // -------------------------------------------------------------- (a) sharded encode, 1 and 2 workers
  const encodeRows = [];
  for (const n of WORKERS) {
    await Promise.all(clusterAdmin.nodes("master").map((m) => m.flushall()));
    const queueName = `scale-${process.pid}-w${n}`;
    const workers = await Promise.all(
      Array.from({ length: n }, () =>
        spawnCtxrec(
          ["worker", "--queue", queueUrl, "--queue-name", queueName, "--threads", String(THREADS)],
          "taking jobs",
        ),
      ),
    );
    const redisNodes = [...clusterAdmin.nodes("master"), singleAdmin];
    const cpuBefore = {
      workers: workers.map((w) => w.cpuSeconds()),
      redis: await redisCpuSeconds(redisNodes),
      coordinator: process.cpuUsage(),
    };
    const load1Before = load1();
    const r = await shardedEncodeIntoStore(
      world.ds,
      { url: parseQueueUrl(queueUrl, "--queue"), name: queueName },
      {
        shards: SHARDS,
        model: { dir: world.modelDir, version: world.version, dim: D, maxLen: BENCH_ENCODER.maxLen },
        data: { format: DATA_FORMAT, path: dataPath, skipInvalid: false },
        store: cluster.url,
        batchSize: BATCH,
        pollMs: 100,
      },
    );
    const load1After = load1();
    // Where the cores went during the run: CPU seconds ÷ wall seconds = cores busy.
    const busy = (cpu: number) => r3(cpu / r.seconds);
    const coordinatorCpu = process.cpuUsage(cpuBefore.coordinator);
    const cores = {
      workers: busy(workers.reduce((a, w, i) => a + w.cpuSeconds() - cpuBefore.workers[i], 0)),
      redis: busy((await redisCpuSeconds(redisNodes)) - cpuBefore.redis),
      coordinator: busy((coordinatorCpu.user + coordinatorCpu.system) / 1e6),
    };
    await Promise.all(workers.map((w) => w.stop()));
    if (r.encoded !== users.length) throw new Error(`encoded ${r.encoded} of ${users.length} users`);
    /** Seconds the workers spent in their shards' encode loops, summed. */
    const shardSeconds = r.shards.reduce((a, s) => a + s.seconds, 0);
    const row = {
      workers: n,
      threadsPerWorker: THREADS,
      shards: SHARDS,
      users: r.encoded,
      seconds: r3(r.seconds),
      usersPerSecond: Math.round(r.encoded / r.seconds),
      /** Users/s of one worker while inside a shard's encode loop (no start-up, no queue). */
      inShardUsersPerSecondPerWorker: Math.round(r.encoded / shardSeconds),
      /** Share of the workers' time (n × wall) not inside a shard's encode loop: start-up, data load, queue. */
      outsideShardShare: r3(1 - shardSeconds / (n * r.seconds)),
      /** Cores busy over the run (CPU seconds ÷ wall seconds) in the workers, the Redis servers and this process. */
      cores,
      /** Users per CPU second of the workers: flat from 1 to 2 workers = the work itself scales linearly. */
      usersPerWorkerCpuSecond: Math.round(r.encoded / (cores.workers * r.seconds)),
      load1Before,
      load1After,
    };
    encodeRows.push(row);
    log(
      `encode, ${n} worker(s): ${fmt(row.usersPerSecond)} users/s (${row.seconds} s; in-shard ${fmt(row.inShardUsersPerSecondPerWorker)} users/s per worker); cores busy: workers ${cores.workers}, redis ${cores.redis}, coordinator ${cores.coordinator}; load ${load1Before} → ${load1After}`,
    );
  }
  const one = encodeRows.find((r) => r.workers === 1);
  const two = encodeRows.find((r) => r.workers === 2);
  const speedup = one && two ? r3(two.usersPerSecond / one.usersPerSecond) : undefined;

  // -------------------------------------------------------------- (b) get / getMany, single vs cluster
  const rng = new Rng(7);
  const storeUsers = Array.from({ length: STORE_USERS }, (_, i) => `su${i}`);
  const entries: StateEntry[] = storeUsers.map((user, i) => ({
    user,
    vector: Float32Array.from({ length: D }, () => rng.normal()),
    modelVersion: "scale-v1",
    computedAt: 1_700_000_000 + i,
  }));
  const probe = Array.from({ length: GETS }, () => storeUsers[rng.int(STORE_USERS)]);
  const manyProbe = Array.from({ length: GET_MANY }, () =>
    Array.from({ length: GET_MANY_SIZE }, () => storeUsers[rng.int(STORE_USERS)]),
  );
  const us = (t0: number) => (performance.now() - t0) * 1000;

  async function storeFigures(kind: string, url: string, nodes: Redis[]) {
    const load1Before = load1();
    const mem0 = await usedMemory(nodes);
    const store: FeatureStore = await openFeatureStore(
      url,
      { modelVersion: "scale-v1", dim: D, mode: "write" },
      { keyPrefix: "ctxrec:bench:scale" },
    );
    try {
      const t0 = performance.now();
      for (let i = 0; i < STORE_USERS; i += 512) await store.putMany(entries.slice(i, i + 512));
      const putManyUsersPerSecond = Math.round(STORE_USERS / ((performance.now() - t0) / 1000));
      const bytesPerUser = Math.round(((await usedMemory(nodes)) - mem0) / STORE_USERS);
      for (let i = 0; i < 500; i++) await store.get(probe[i % probe.length]); // warm-up
      const getUs: number[] = [];
      for (const u of probe) {
        const t = performance.now();
        await store.get(u);
        getUs.push(us(t));
      }
      const manyUs: number[] = [];
      const m0 = performance.now();
      for (const b of manyProbe) {
        const t = performance.now();
        await store.getMany(b);
        manyUs.push(us(t));
      }
      const getManyUsersPerSecond = Math.round(
        (GET_MANY * GET_MANY_SIZE) / ((performance.now() - m0) / 1000),
      );
      const row = {
        store: kind,
        users: STORE_USERS,
        putManyUsersPerSecond,
        bytesPerUser,
        getP50Us: r1(quantile(getUs, 0.5)),
        getP99Us: r1(quantile(getUs, 0.99)),
        gets: GETS,
        getManySize: GET_MANY_SIZE,
        getManyP50Ms: r3(quantile(manyUs, 0.5) / 1000),
        getManyP99Ms: r3(quantile(manyUs, 0.99) / 1000),
        getManyUsersPerSecond,
        getManyCalls: GET_MANY,
        load1Before,
        load1After: load1(),
      };
      log(
        `${kind}: get p50 ${row.getP50Us} µs p99 ${row.getP99Us} µs; getMany(${GET_MANY_SIZE}) p50 ${row.getManyP50Ms} ms p99 ${row.getManyP99Ms} ms; putMany ${fmt(putManyUsersPerSecond)} users/s; ${bytesPerUser} B/user`,
      );
      return row;
    } finally {
      await store.close();
    }
  }
  const storeRows = [
    await storeFigures("redis (single)", singleUrl, [singleAdmin]),
    await storeFigures("redis-cluster (3 masters)", cluster.url, clusterAdmin.nodes("master")),
  ];

  // -------------------------------------------------------------- (c) serve --workers N over the cluster
  const serveRows = [];
  if (SERVE_SECONDS > 0) {
    const indexPath = path.join(tmp, "items.ctxidx");
    const built = spawnSync(
      process.execPath,
      [
        ...["--import", "tsx", cli, "index", "--model", world.modelDir, "--out", indexPath],
        ...["--format", "jsonl", "--path", world.worldDir, "--threads", "1", "--recall-queries", "100"],
      ],
      { cwd: repoRoot, encoding: "utf8" },
    );
    if (built.status !== 0) throw new Error(`ctxrec index failed: ${built.stderr}`);
    const items = world.ds.itemVocab.names.slice(1);
    const bodies = Array.from({ length: 2000 }, (_, i) =>
      JSON.stringify({
        userId: users[rng.int(users.length)],
        k: 10,
        ...(i % 2 === 1 ? { context: { subjectItemId: items[rng.int(items.length)] } } : {}),
      }),
    );
    for (const n of SERVE_WORKERS) {
      const { child, url } = await startServer([
        ...["--model", world.modelDir, "--index", indexPath, "--store", cluster.url],
        ...["--port", "0", "--workers", String(n), "--log-level", "warn"],
      ]);
      children.push(child);
      const exited = new Promise((r) => child.on("exit", r));
      try {
        await closedLoop(url, bodies, undefined, CONNECTIONS, 2); // warm-up
        const load1Before = load1();
        const { res, ms, ok } = await closedLoop(url, bodies, undefined, CONNECTIONS, SERVE_SECONDS);
        const row = {
          replicas: n,
          connections: CONNECTIONS,
          seconds: SERVE_SECONDS,
          requestsPerSecond: Math.round(ok / res.duration),
          p50Ms: r3(quantile(ms, 0.5)),
          p99Ms: r3(quantile(ms, 0.99)),
          errors: res.errors + res.non2xx + res.timeouts,
          load1Before,
          load1After: load1(),
        };
        serveRows.push(row);
        log(
          `serve --workers ${n}: ${fmt(row.requestsPerSecond)} req/s, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, errors ${row.errors}; load ${load1Before} → ${row.load1After}`,
        );
      } finally {
        child.kill("SIGTERM");
        await exited;
      }
    }
  }

  // -------------------------------------------------------------- capacity on paper
  // The serving rate per replica: bench:serve's saturation at 1M items over Redis when its results
  // are there (the production-sized index), else (c)'s one-replica figure on this tiny world.
  const serveJson = path.join(repoRoot, "bench/results/serve.json");
  const serveBench = existsSync(serveJson)
    ? (JSON.parse(readFileSync(serveJson, "utf8")) as {
        args: { n: number };
        http: { store: string; rate: number | "max"; throughput: number }[];
      })
    : undefined;
  const serve1M = serveBench?.http.find((r) => r.store === "redis" && r.rate === "max");
  const serveOne = serveRows.find((r) => r.replicas === 1);
  const perReplica = serve1M?.throughput ?? serveOne?.requestsPerSecond;
  const [single0, cluster0] = storeRows;
  const assumptions = {
    users: 1e8,
    windowSeconds: 7200,
    reservedSeconds: 600,
    coresPerMachine: 16,
    encodeUtilisation: 0.7,
    targetScalingEfficiency: 0.9,
    requestsPerSecond: 50_000,
    serveUtilisation: 0.6,
    replicasPerMachine: 15,
    versionsHeld: 2,
    bytesPerMaster: 25e9,
  };
  const measuredEfficiency = speedup !== undefined ? Math.min(1, speedup / 2) : undefined;
  const plan = one
    ? {
        perCoreUsersPerSecond: one.inShardUsersPerSecondPerWorker,
        measuredEfficiency,
        encodeMeasured:
          measuredEfficiency !== undefined
            ? encodeCapacity({
                users: assumptions.users,
                windowSeconds: assumptions.windowSeconds,
                reservedSeconds: assumptions.reservedSeconds,
                perCoreUsersPerSecond: one.inShardUsersPerSecondPerWorker,
                scalingEfficiency: measuredEfficiency,
                utilisation: assumptions.encodeUtilisation,
                coresPerMachine: assumptions.coresPerMachine,
              })
            : undefined,
        encodeTarget: encodeCapacity({
          users: assumptions.users,
          windowSeconds: assumptions.windowSeconds,
          reservedSeconds: assumptions.reservedSeconds,
          perCoreUsersPerSecond: one.inShardUsersPerSecondPerWorker,
          scalingEfficiency: assumptions.targetScalingEfficiency,
          utilisation: assumptions.encodeUtilisation,
          coresPerMachine: assumptions.coresPerMachine,
        }),
        perReplicaRequestsPerSecond: perReplica,
        perReplicaSource: serve1M
          ? `bench/results/serve.json: saturation over Redis, ${fmt(serveBench?.args.n ?? 0)} items`
          : "(c) above: serve --workers 1, tiny world",
        serve:
          perReplica !== undefined
            ? serveCapacity({
                requestsPerSecond: assumptions.requestsPerSecond,
                perReplicaRequestsPerSecond: perReplica,
                utilisation: assumptions.serveUtilisation,
                replicasPerMachine: assumptions.replicasPerMachine,
              })
            : undefined,
        store: storeCapacity({
          users: assumptions.users,
          bytesPerUser: cluster0.bytesPerUser,
          versions: assumptions.versionsHeld,
          bytesPerMaster: assumptions.bytesPerMaster,
          writesPerSecond: assumptions.users / (assumptions.windowSeconds - assumptions.reservedSeconds),
          writesPerSecondPerMaster: single0.putManyUsersPerSecond,
          readsPerSecond: assumptions.requestsPerSecond,
          readsPerSecondPerMaster: single0.getManyUsersPerSecond,
        }),
      }
    : undefined;

  // -------------------------------------------------------------- results
  const loadEnd = os.loadavg();
  const result = {
    bench: "scale",
    date: new Date().toISOString(),
    quick: QUICK,
    machine: { ...machine, loadavgStart: loadStart, loadavgEnd: loadEnd },
    world: { preset: "tiny", users: users.length, events: world.ds.items.length, workersRead: DATA_FORMAT },
    model: { ...BENCH_ENCODER, weights: "random (seed 1)" },
    encode: { speedup, rows: encodeRows },
    store: { rows: storeRows },
    serve: { rows: serveRows },
    capacity: { assumptions, plan },
  };
  const loadNote = `1-minute load average ${loadStart[0].toFixed(2)} at start, ${loadEnd[0].toFixed(2)} at end`;
  const md = [
    `# bench:scale${QUICK ? " --quick" : ""} (${result.date})`,
    "",
    `${machine.cpus} CPUs (${machine.cpu}), Node ${machine.node}; ${loadNote}. Local 3-master Redis Cluster and a single redis-server on loopback, on the same cores as everything else. Encoder d = ${D}, ${BENCH_ENCODER.blocks} blocks, L = ${BENCH_ENCODER.maxLen} (random weights), batch ${BATCH}.`,
    "",
    `## (a) Sharded encode through BullMQ (${fmt(users.length)} users, ${fmt(world.ds.items.length)} events, ${SHARDS} shards, ${THREADS} ORT thread per worker, Redis Cluster store; workers read the ${DATA_FORMAT === "artifact" ? "compiled data artifact" : "JSONL world"})`,
    "",
    "| workers | users/s | seconds | in-shard users/s per worker | time outside shards | cores busy: workers / Redis / coordinator | users per worker CPU-second | 1-min load before → after |",
    "| ------: | ------: | ------: | --------------------------: | ------------------: | ----------------------------------------- | --------------------------: | ------------------------- |",
    ...encodeRows.map(
      (r) =>
        `| ${r.workers} | ${fmt(r.usersPerSecond)} | ${r.seconds} | ${fmt(r.inShardUsersPerSecondPerWorker)} | ${(r.outsideShardShare * 100).toFixed(0)} % | ${r.cores.workers} / ${r.cores.redis} / ${r.cores.coordinator} | ${fmt(r.usersPerWorkerCpuSecond)} | ${r.load1Before} → ${r.load1After} |`,
    ),
    "",
    speedup !== undefined ? `2 workers ÷ 1 worker: **${speedup}×** (goal ≥ 1.8× on an idle machine).` : "",
    "",
    `## (b) Feature store reads (${fmt(STORE_USERS)} users × d ${D}, one client, per-call latency)`,
    "",
    `| store | get p50 µs | get p99 µs | getMany(${GET_MANY_SIZE}) p50 ms | getMany p99 ms | getMany users/s | putMany users/s | server bytes/user | 1-min load before → after |`,
    "| ----- | ---------: | ---------: | ------------------: | -------------: | --------------: | --------------: | ----------------: | ------------------------- |",
    ...storeRows.map(
      (r) =>
        `| ${r.store} | ${r.getP50Us} | ${r.getP99Us} | ${r.getManyP50Ms} | ${r.getManyP99Ms} | ${fmt(r.getManyUsersPerSecond)} | ${fmt(r.putManyUsersPerSecond)} | ${r.bytesPerUser} | ${r.load1Before} → ${r.load1After} |`,
    ),
    "",
    ...(serveRows.length > 0
      ? [
          `## (c) serve --workers N over the cluster store (tiny world, ${CONNECTIONS} connections, ${SERVE_SECONDS} s, load generator on the same cores)`,
          "",
          "| replicas | req/s | p50 ms | p99 ms | errors | 1-min load before → after |",
          "| -------: | ----: | -----: | -----: | -----: | ------------------------- |",
          ...serveRows.map(
            (r) =>
              `| ${r.replicas} | ${fmt(r.requestsPerSecond)} | ${r.p50Ms} | ${r.p99Ms} | ${r.errors} | ${r.load1Before} → ${r.load1After} |`,
          ),
          "",
        ]
      : []),
    ...(plan ? capacityMd(plan) : []),
  ].join("\n");
  writeResults(opt.out, result, md);

  function capacityMd(p: NonNullable<typeof plan>): string[] {
    const a = assumptions;
    const enc = (c: ReturnType<typeof encodeCapacity>, eff: number, what: string) =>
      `| ${what} | ${eff.toFixed(2)} | ${fmt(c.plannedUsersPerSecondPerCore)} | ${fmt(c.cores)} | ${c.machines} | ${(c.plannedSeconds / 60).toFixed(0)} min |`;
    return [
      "## Capacity on paper (bench/capacity.ts)",
      "",
      `Encode ${fmt(a.users)} users in < ${a.windowSeconds / 3600} h, ${a.reservedSeconds / 60} min of it reserved for start-up and the last shards: ${fmt(p.encodeTarget.requiredUsersPerSecond)} users/s. Per core: ${fmt(p.perCoreUsersPerSecond)} users/s, the in-shard rate of one worker of the 1-worker row of (a) (1 ORT thread; start-up is in the reserve: at 10⁸ users it is amortised over millions of users per worker); planned at ${a.encodeUtilisation * 100} % of it; ${a.coresPerMachine}-core machines, one worker per core.`,
      "",
      "| scaling efficiency from | efficiency | planned users/s per core | cores | machines | run time |",
      "| ----------------------- | ---------: | -----------------------: | ----: | -------: | -------: |",
      ...(p.encodeMeasured && p.measuredEfficiency !== undefined
        ? [enc(p.encodeMeasured, p.measuredEfficiency, "measured here (speed-up ÷ 2)")]
        : []),
      enc(p.encodeTarget, a.targetScalingEfficiency, "the goal (1.8× with 2)"),
      "",
      p.serve && p.perReplicaRequestsPerSecond !== undefined
        ? `Serve ${fmt(a.requestsPerSecond)} req/s: ${fmt(p.perReplicaRequestsPerSecond)} req/s per replica (${p.perReplicaSource}), planned at ${a.serveUtilisation * 100} % → ${fmt(p.serve.plannedRequestsPerSecondPerReplica)}; **${p.serve.replicas} replicas on ${p.serve.machines} machines** of ${a.replicasPerMachine} replicas (${a.coresPerMachine} cores, one left to the OS and the network).`
        : "Serve: no per-replica rate measured.",
      "",
      `Store: ${fmt(a.users)} users × ${cluster0.bytesPerUser} B (server memory per user, measured on the cluster) × ${a.versionsHeld} versions = ${(p.store.bytes / 1e9).toFixed(0)} GB → ${p.store.mastersForMemory} masters at ${a.bytesPerMaster / 1e9} GB of data each; writes ${fmt(p.encodeTarget.requiredUsersPerSecond)} users/s at ${fmt(single0.putManyUsersPerSecond)} per master (one client's putMany on the single server) → ${p.store.mastersForWrites}; reads ${fmt(a.requestsPerSecond)} users/s at ${fmt(single0.getManyUsersPerSecond)} per master (one client's pipelined getMany on the single server) → ${p.store.mastersForReads}: **${p.store.masters} masters** (plus a replica each for failover). Every read also GETs the one commits key, so one master takes ${fmt(a.requestsPerSecond)} GET/s of it whatever the cluster's size.`,
      "",
    ];
  }
} finally {
  clusterAdmin.disconnect();
  singleAdmin.disconnect();
  teardown();
}
