/**
 * Streaming state refresh benchmark (issue #13 part 3): freshness lag, from the moment Redis takes
 * an event's stream entry to the moment its user's new state is written to the store (servable),
 * p50/p99, at fixed producer rates (default 1,000 and 5,000 events/s).
 *
 * Set-up: a synthetic world (tiny preset, `--users` users), a model with the measured encoder
 * configuration of DESIGN §7 (d = 64, 2 blocks, L = 50; random weights: the cost does not depend
 * on them) saved and exported to ONNX, an empty active namespace in a SQLite store. The consumer
 * is the real `ctxrec stream` in its own process (seeded from the world; `--stats-json` gives its
 * lags), the producer this process: onnxruntime-node runs a session synchronously on the JS
 * thread, so a producer in the consumer's process would be held up by every encode and would date
 * its events late (coordinated omission). A warm-up consumer first gives every user one event, so
 * every log exists (the steady state, not the first touch after a restart); then each rate gets a
 * fresh consumer process: the producer XADDs events of uniformly drawn users (seeded RNG) at the
 * rate, in 10 ms ticks, for `--seconds`, waits until the group has nothing pending or undelivered
 * (at most `--drain-seconds`), stops the consumer with SIGTERM and reads its lags. The 1-minute
 * load average is recorded beside each figure: the machine may be shared.
 *
 *   npx tsx bench/stream.ts [--phases 1000x1,5000x1] [--seconds 8] [--drain-seconds 8]
 *                           [--users 5000] [--batch-size 256] [--max-wait-ms 20] [--threads 2]
 *                           [--redis redis://127.0.0.1:6379/15] [--out stream]
 *
 * A phase `RATExN` runs N consumer processes of the group (their lags pooled from each one's
 * 1001 order statistics).
 *
 * A phase whose backlog is not drained `--drain-seconds` after the producer stopped is cut there:
 * its lags are those of the events written by then, and the backlog is reported with them.
 * Writes bench/results/OUT.json and OUT.md (OUT = `--out`, default `stream`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Rng } from "../src/core/rng.ts";
import { openFeatureStore } from "../src/store/open.ts";
import { connectRedis } from "../src/store/redis.ts";
import { parseStoreUrl, type RedisStoreUrl } from "../src/store/url.ts";
import type { statsJson } from "../src/stream/stats.ts";
import { deletePrefix } from "../src/stream/testRedis.ts";
import { encoderWorld } from "./encoderWorld.ts";
import { load1, machineInfo, writeResults } from "./machine.ts";

const { values: opt } = parseArgs({
  options: {
    phases: { type: "string", default: "1000x1,5000x1" },
    out: { type: "string", default: "stream" },
    seconds: { type: "string", default: "8" },
    "drain-seconds": { type: "string", default: "8" },
    users: { type: "string", default: "5000" },
    "batch-size": { type: "string", default: "256" },
    "max-wait-ms": { type: "string", default: "20" },
    threads: { type: "string", default: "2" },
    redis: { type: "string", default: "redis://127.0.0.1:6379/15" },
  },
});
/** `RATExN`: RATE events/s consumed by N `ctxrec stream` processes of one group. */
const PHASES = opt.phases.split(",").map((p) => {
  const [rate, n] = p.split("x").map(Number);
  if (!(rate > 0) || !(Number.isInteger(n) && n >= 1)) throw new Error(`--phases: "${p}" is not RATExN`);
  return { rate, consumers: n };
});
const OUT = opt.out;
const SECONDS = Number(opt.seconds);
const DRAIN = Number(opt["drain-seconds"]);
const USERS = Number(opt.users);
const BATCH = Number(opt["batch-size"]);
const MAX_WAIT = Number(opt["max-wait-ms"]);
const THREADS = Number(opt.threads);
const repoRoot = path.resolve(import.meta.dirname, "..");
const log = (s: string) => process.stderr.write(`[bench:stream] ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type ConsumerStats = ReturnType<typeof statsJson>;

const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-bench-stream-"));
const prefix = `ctxrec:bench:stream:${process.pid}`;
const stream = `${prefix}:events`;
const group = "bench";
const redis = await connectRedis(parseStoreUrl(opt.redis) as RedisStoreUrl, opt.redis, 2000);
const children: ChildProcess[] = [];

/** `ctxrec stream` in its own process; resolves once it consumes. */
async function startConsumer(
  name: string,
  statsFile: string,
  worldDir: string,
  modelDir: string,
  storeUrl: string,
) {
  const args = [
    ...["--model", modelDir, "--events", `${opt.redis}/${encodeURIComponent(stream)}`, "--store", storeUrl],
    ...["--group", group, "--consumer", name, "--from-start", "--log-prefix", `${prefix}:ev`],
    ...["--threads", String(THREADS), "--batch-size", String(BATCH), "--max-wait-ms", String(MAX_WAIT)],
    ...["--stats-interval", "0", "--stats-json", statsFile, "--format", "jsonl", "--path", worldDir],
  ];
  const argv = ["--import", "tsx", path.join(repoRoot, "src/cli/main.ts"), "stream", ...args];
  const child = spawn(process.execPath, argv, { cwd: repoRoot, stdio: ["ignore", "ignore", "pipe"] });
  children.push(child);
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr += String(d);
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  for (const t0 = Date.now(); !stderr.includes("stop with Ctrl-C"); await sleep(50)) {
    if (child.exitCode !== null || Date.now() - t0 > 120_000)
      throw new Error(`ctxrec stream did not start: ${stderr}`);
  }
  return {
    /** SIGTERM, then the consumer's stats once it has finished its batch and exited. */
    async stop(): Promise<ConsumerStats> {
      child.kill("SIGTERM");
      const code = await exited;
      if (code !== 0) throw new Error(`ctxrec stream exited with ${code}: ${stderr}`);
      return JSON.parse(readFileSync(statsFile, "utf8")) as ConsumerStats;
    },
  };
}

/** Entries of the group not yet acknowledged or not yet delivered. */
async function backlog(): Promise<number> {
  const groups = (await redis.xinfo("GROUPS", stream)) as (string | number | null)[][];
  for (const g of groups) {
    const f = new Map<string, string | number | null>();
    for (let i = 0; i + 1 < g.length; i += 2) f.set(String(g[i]), g[i + 1]);
    if (f.get("name") === group) return Number(f.get("pending") ?? 0) + Number(f.get("lag") ?? 0);
  }
  return Number.POSITIVE_INFINITY;
}

/** Waits until the group's backlog is 0, at most `limitSeconds`; whether it got there. */
async function drained(limitSeconds: number): Promise<boolean> {
  for (const t0 = Date.now(); Date.now() - t0 < limitSeconds * 1000; await sleep(20)) {
    if ((await backlog()) === 0) return true;
  }
  return false;
}

/**
 * The q-quantile (seconds) of the lags of several consumers pooled: each consumer's 1001
 * order statistics (`permilleSeconds`) stand for its lags, each weighing count / 1001.
 */
function pooledLag(all: readonly ConsumerStats[]): (q: number) => number {
  const points: [number, number][] = [];
  for (const s of all) for (const v of s.lag.permilleSeconds) points.push([v, s.lag.window / 1001]);
  points.sort((a, b) => a[0] - b[0]);
  const total = points.reduce((a, p) => a + p[1], 0);
  return (q) => {
    let seen = 0;
    for (const [v, w] of points) {
      seen += w;
      if (seen >= q * total) return v;
    }
    return points.at(-1)?.[0] ?? Number.NaN;
  };
}

try {
  // ---- set-up: world, model, store --------------------------------------------------------
  const { worldDir, modelDir, version, ds } = await encoderWorld(tmp, USERS);
  const storeUrl = `file:${path.join(tmp, "state.db")}`;
  const store = await openFeatureStore(storeUrl, { modelVersion: version, dim: 64, mode: "write" });
  await store.activate();
  await store.close();

  const users = ds.userVocab.names.slice(1);
  const items = ds.itemVocab.names.slice(1);
  const rng = new Rng(7);
  /** XADDs `n` events of random users (or of `who`), timestamped now. */
  const produce = async (n: number, who?: (i: number) => string) => {
    const p = redis.pipeline();
    const ts = String(Date.now() / 1000);
    for (let i = 0; i < n; i++) {
      const user = who?.(i) ?? users[rng.int(users.length)];
      p.xadd(stream, "*", "user", user, "item", items[rng.int(items.length)], "ts", ts);
    }
    await p.exec();
  };

  // ---- warm-up: every user's log seeded ---------------------------------------------------
  log(`world: ${users.length} users, ${ds.items.length} events; model d=64, L=50`);
  const warm = await startConsumer("c1", path.join(tmp, "warm.json"), worldDir, modelDir, storeUrl);
  const w0 = performance.now();
  for (let a = 0; a < users.length; a += 1000)
    await produce(Math.min(1000, users.length - a), (i) => users[a + i]);
  if (!(await drained(120))) throw new Error("warm-up: the consumer did not catch up within 120 s");
  await warm.stop();
  log(
    `warm-up: ${users.length} users seeded and encoded in ${((performance.now() - w0) / 1000).toFixed(1)} s`,
  );

  // ---- timed phases -------------------------------------------------------------------------
  const rows: Record<string, unknown>[] = [];
  for (const { rate, consumers } of PHASES) {
    const cs = await Promise.all(
      Array.from({ length: consumers }, (_, i) =>
        startConsumer(
          `c${i + 1}`,
          path.join(tmp, `p${rows.length}-c${i + 1}.json`),
          worldDir,
          modelDir,
          storeUrl,
        ),
      ),
    );
    const loadBefore = load1();
    const t0 = performance.now();
    let sent = 0;
    while (performance.now() - t0 < SECONDS * 1000) {
      const due = Math.floor(((performance.now() - t0) / 1000) * rate);
      if (due > sent) {
        await produce(due - sent);
        sent = due;
      }
      await sleep(10);
    }
    const produceSeconds = (performance.now() - t0) / 1000;
    // Consumers that cannot keep up are not waited for: their backlog is reported instead.
    const caughtUp = await drained(DRAIN);
    const left = await backlog();
    const phaseSeconds = (performance.now() - t0) / 1000;
    const all = await Promise.all(cs.map((c) => c.stop()));
    const sum = (f: (s: ConsumerStats) => number) => all.reduce((a, s) => a + f(s), 0);
    const lag = pooledLag(all);
    const row = {
      rate,
      consumers,
      sent,
      achievedRate: Math.round(sent / produceSeconds),
      consumedRate: Math.round(sum((s) => s.entries) / phaseSeconds),
      lagP50Seconds: lag(0.5),
      lagP99Seconds: lag(0.99),
      lagMaxSeconds: Math.max(...all.map((s) => s.lag.maxSeconds)),
      /** Events whose state was written (the lags are theirs). */
      lagged: sum((s) => s.lag.count),
      /** Entries each consumer took: the group's split of the work. */
      perConsumer: all.map((s) => s.entries),
      batches: sum((s) => s.batches),
      meanBatch: Math.round(
        sum((s) => s.entries) /
          Math.max(
            1,
            sum((s) => s.batches),
          ),
      ),
      usersEncoded: sum((s) => s.encoded),
      rewrites: sum((s) => s.rewrites),
      /** Share of the phase's wall time the consumers spent in the encoder (mean per consumer). */
      encoderShare: Number((sum((s) => s.encodeMs) / 1000 / phaseSeconds / consumers).toFixed(3)),
      /** Entries not yet acknowledged when the drain limit ran out (the consumers fell behind). */
      backlog: left,
      caughtUp,
      load1Before: loadBefore,
      load1After: load1(),
    };
    rows.push(row);
    const what = `${rate}/s, ${consumers} consumer${consumers > 1 ? "s" : ""}`;
    if (!caughtUp)
      log(`${what}: fell behind (${left} entries left after ${DRAIN} s); lags are of the events written`);
    log(
      `${what}: lag p50 ${row.lagP50Seconds} s, p99 ${row.lagP99Seconds} s, max ${row.lagMaxSeconds} s; ` +
        `consumed ${row.consumedRate}/s, mean batch ${row.meanBatch}; load ${row.load1Before} → ${row.load1After}`,
    );
    // The next phase starts from an empty backlog.
    if (!caughtUp) await redis.xgroup("SETID", stream, group, "$");
  }

  const meta = {
    ...machineInfo(),
    date: new Date().toISOString(),
    users: users.length,
    model: { dim: 64, blocks: 2, maxLen: 50, threads: THREADS },
    consumer: {
      consumers: 1,
      process: "ctxrec stream",
      batchSize: BATCH,
      maxWaitMs: MAX_WAIT,
      store: "file: (SQLite)",
    },
    seconds: SECONDS,
    drainSeconds: DRAIN,
    redis: opt.redis,
  };
  const md = [
    `Streaming state refresh: freshness lag from XADD to the state written (servable), \`ctxrec stream\` processes of one group, ` +
      `d=64, 2 blocks, L=50, ${THREADS} ORT threads, batch ≤ ${BATCH}, max wait ${MAX_WAIT} ms, ${users.length} users ` +
      `(every log seeded), SQLite store, Redis on loopback; ${SECONDS} s per rate (+ ≤ ${DRAIN} s to drain); ` +
      `${meta.cpus} CPUs (${meta.cpu}), Node ${meta.node}, ${meta.date}`,
    "",
    "| events/s asked | consumers | sent/s | consumed/s | lag p50 (s) | lag p99 (s) | lag max (s) | events written / sent | mean batch | encoder share | 1-min load before → after |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ...rows.map(
      (r) =>
        `| ${r.rate} | ${r.consumers} | ${r.achievedRate} | ${r.consumedRate} | ${r.lagP50Seconds} | ${r.lagP99Seconds} | ${r.lagMaxSeconds} | ${r.lagged} / ${r.sent} | ${r.meanBatch} | ${r.encoderShare} | ${r.load1Before} → ${r.load1After} |`,
    ),
    "",
  ].join("\n");
  writeResults(OUT, { ...meta, rows }, md);
} finally {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await deletePrefix(redis, prefix);
  redis.disconnect();
  rmSync(tmp, { recursive: true, force: true });
}
