/**
 * Streaming state refresh benchmark (issue #13 part 3): freshness lag, from the moment Redis takes
 * an event's stream entry to the moment its user's new state is written to the store (servable),
 * p50/p99, at fixed producer rates (default 1,000 and 5,000 events/s).
 *
 * Set-up: a synthetic world (tiny preset, `--users` users), a model with the measured encoder
 * configuration of DESIGN §7 (d = 64, 2 blocks, L = 50; random weights: the cost does not depend
 * on them) saved and exported to ONNX, an empty active namespace in a SQLite store, one consumer
 * (`StreamConsumer`, what `ctxrec stream` runs; in this process, beside the producer) seeded from
 * the world. Before the timed phases every user gets one event, so every log exists (the steady
 * state, not the first touch after a restart). Each phase then XADDs events of uniformly drawn
 * users (seeded RNG) at the rate, in 10 ms ticks, for `--seconds`, waits until every entry is
 * acknowledged, and reads the lags of the phase's events only. The 1-minute load average is
 * recorded beside each figure: the machine may be shared.
 *
 *   npx tsx bench/stream.ts [--rates 1000,5000] [--seconds 10] [--users 5000] [--batch-size 256]
 *                           [--max-wait-ms 20] [--threads 2] [--drain-seconds 10]
 *                           [--redis redis://127.0.0.1:6379/15]
 *
 * A phase whose backlog is not drained `--drain-seconds` after the producer stopped is cut there:
 * its lags are those of the events written by then, and the backlog is reported with them.
 *
 * Writes bench/results/stream.json and stream.md.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Rng } from "../src/core/rng.ts";
import { loadDataset } from "../src/data/load.ts";
import { initEngine } from "../src/engine/backend.ts";
import { saveModel } from "../src/model/artifact.ts";
import { resolveModelConfig } from "../src/model/config.ts";
import { itemFeaturesOf } from "../src/model/itemFeatures.ts";
import { createModel, disposeModel } from "../src/model/model.ts";
import { vocabSizesOf } from "../src/model/vocabSizes.ts";
import { readModelVocabs } from "../src/offline/modelData.ts";
import { exportOnnx } from "../src/onnx/export.ts";
import { openOnnxModel } from "../src/onnx/runtime.ts";
import { openFeatureStore } from "../src/store/open.ts";
import { connectRedis } from "../src/store/redis.ts";
import { parseStoreUrl, type RedisStoreUrl } from "../src/store/url.ts";
import { StreamConsumer } from "../src/stream/consumer.ts";
import { entryRules } from "../src/stream/entry.ts";
import { EventLog } from "../src/stream/eventLog.ts";
import { codeMaps } from "../src/stream/history.ts";
import { datasetSeeder } from "../src/stream/seed.ts";
import { LagWindow } from "../src/stream/stats.ts";
import { deletePrefix } from "../src/stream/testRedis.ts";
import { generateWorld } from "../src/synth/generate.ts";

const { values: opt } = parseArgs({
  options: {
    rates: { type: "string", default: "1000,5000" },
    seconds: { type: "string", default: "10" },
    users: { type: "string", default: "5000" },
    "batch-size": { type: "string", default: "256" },
    "max-wait-ms": { type: "string", default: "20" },
    threads: { type: "string", default: "2" },
    "drain-seconds": { type: "string", default: "10" },
    redis: { type: "string", default: "redis://127.0.0.1:6379/15" },
  },
});
const RATES = opt.rates.split(",").map(Number);
const SECONDS = Number(opt.seconds);
const USERS = Number(opt.users);
const BATCH = Number(opt["batch-size"]);
const MAX_WAIT = Number(opt["max-wait-ms"]);
const THREADS = Number(opt.threads);
const DRAIN = Number(opt["drain-seconds"]);
const repoRoot = path.resolve(import.meta.dirname, "..");
const log = (s: string) => process.stderr.write(`[bench:stream] ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load1 = () => Number(os.loadavg()[0].toFixed(2));
const r3 = (x: number) => Number(x.toFixed(3));

const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-bench-stream-"));
const prefix = `ctxrec:bench:stream:${process.pid}`;
const server = parseStoreUrl(opt.redis) as RedisStoreUrl;
const redis = await connectRedis(server, opt.redis, 2000);
const consumerRedis = await connectRedis(server, opt.redis, 2000);

try {
  // ---- set-up: world, model, store --------------------------------------------------------
  const worldDir = path.join(tmp, "world");
  await generateWorld({ preset: "tiny", seed: 1, overrides: { users: USERS }, outDir: worldDir });
  const ds = await loadDataset({ format: "jsonl", path: worldDir });
  await initEngine();
  const cfg = resolveModelConfig({
    encoder: { dim: 64, blocks: 2, heads: 2, ffn: 256, maxLen: 50 },
    context: { dim: 64 },
    fusion: { hidden: 128 },
  });
  const m = createModel(cfg, vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(1));
  const modelDir = path.join(tmp, "model");
  const version = saveModel(modelDir, m, { dataset: ds }).version;
  disposeModel(m);
  await exportOnnx(modelDir);
  const onnx = await openOnnxModel(modelDir, { threads: THREADS });
  const store = await openFeatureStore(`file:${path.join(tmp, "state.db")}`, {
    modelVersion: version,
    dim: onnx.dim,
    mode: "write",
  });
  await store.activate();
  const vocabs = readModelVocabs(modelDir);
  const stream = `${prefix}:events`;
  const consumer = new StreamConsumer(
    consumerRedis,
    {
      log: new EventLog(consumerRedis, { prefix: `${prefix}:ev`, cap: onnx.maxLen + 1 }),
      encoder: onnx.encoder,
      store,
      maps: codeMaps(vocabs),
      maxLen: onnx.maxLen,
      seeder: datasetSeeder(ds, onnx.maxLen + 1),
      rules: entryRules(vocabs),
    },
    { stream, group: "bench", consumer: "c1", batchSize: BATCH, maxWaitMs: MAX_WAIT, start: "0" },
  );
  const running = consumer.run();
  running.catch(() => undefined);

  const users = ds.userVocab.names.slice(1);
  const items = ds.itemVocab.names.slice(1);
  const rng = new Rng(7);
  let sent = 0;
  /** XADDs `n` events of random users (or of `who`), timestamped now. */
  const produce = async (n: number, who?: (i: number) => string) => {
    const p = redis.pipeline();
    const ts = String(Date.now() / 1000);
    for (let i = 0; i < n; i++) {
      const user = who?.(i) ?? users[rng.int(users.length)];
      p.xadd(stream, "*", "user", user, "item", items[rng.int(items.length)], "ts", ts);
    }
    await p.exec();
    sent += n;
  };
  /** Waits until every entry sent is acknowledged, at most `limitSeconds`; whether it was. */
  const drained = async (limitSeconds: number) => {
    const t0 = Date.now();
    while (consumer.stats.entries < sent) {
      if (Date.now() - t0 > limitSeconds * 1000) return false;
      await sleep(20);
    }
    return true;
  };

  // ---- warm-up: every user's log seeded ---------------------------------------------------
  log(`world: ${users.length} users, ${ds.items.length} events; model d=${onnx.dim}, L=${onnx.maxLen}`);
  const w0 = performance.now();
  for (let a = 0; a < users.length; a += 1000)
    await produce(Math.min(1000, users.length - a), (i) => users[a + i]);
  if (!(await drained(120))) throw new Error("warm-up: the consumer did not catch up within 120 s");
  log(
    `warm-up: ${users.length} users seeded and encoded in ${((performance.now() - w0) / 1000).toFixed(1)} s`,
  );

  // ---- timed phases -------------------------------------------------------------------------
  const rows = [];
  for (const rate of RATES) {
    consumer.stats.lag = new LagWindow(Math.ceil(rate * SECONDS * 1.2) + 1024);
    const before = { ...consumer.stats, lag: undefined };
    const loadBefore = load1();
    const t0 = performance.now();
    const tickMs = 10;
    let due = 0;
    let phaseSent = 0;
    while (performance.now() - t0 < SECONDS * 1000) {
      due = Math.floor(((performance.now() - t0) / 1000) * rate);
      if (due > phaseSent) {
        const n = due - phaseSent;
        await produce(n);
        phaseSent += n;
      }
      await sleep(tickMs);
    }
    const produceSeconds = (performance.now() - t0) / 1000;
    // A consumer that cannot keep up is not waited for: its backlog is reported instead.
    const caughtUp = await drained(DRAIN);
    const drainSeconds = (performance.now() - t0) / 1000;
    const s = consumer.stats;
    const batches = s.batches - before.batches;
    const row = {
      rate,
      sent: phaseSent,
      achievedRate: Math.round(phaseSent / produceSeconds),
      consumedRate: Math.round((s.entries - before.entries) / drainSeconds),
      lagP50Seconds: r3(s.lag.quantile(0.5) / 1000),
      lagP99Seconds: r3(s.lag.quantile(0.99) / 1000),
      lagMaxSeconds: r3(s.lag.quantile(1) / 1000),
      lagged: s.lag.count,
      batches,
      meanBatch: Math.round((s.entries - before.entries) / Math.max(1, batches)),
      usersEncoded: s.encoded - before.encoded,
      rewrites: s.rewrites - before.rewrites,
      /** Share of the phase's wall time the consumer spent in the encoder. */
      encoderShare: r3((s.encodeMs - before.encodeMs) / 1000 / drainSeconds),
      /** Entries still unacknowledged when the drain limit ran out (the consumer fell behind). */
      backlog: sent - s.entries,
      caughtUp,
      load1Before: loadBefore,
      load1After: load1(),
    };
    rows.push(row);
    if (!caughtUp)
      log(
        `${rate}/s: the consumer fell behind (${row.backlog} entries left after ${DRAIN} s); lags are of the events it did write`,
      );
    log(
      `${rate}/s: lag p50 ${row.lagP50Seconds} s, p99 ${row.lagP99Seconds} s, max ${row.lagMaxSeconds} s; ` +
        `consumed ${row.consumedRate}/s, mean batch ${row.meanBatch}; load ${row.load1Before} → ${row.load1After}`,
    );
  }
  consumer.stop();
  await running;
  await store.close();
  await onnx.close();

  const meta = {
    node: process.version,
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? "?",
    date: new Date().toISOString(),
    users: users.length,
    model: { dim: onnx.dim, blocks: 2, maxLen: onnx.maxLen, threads: THREADS },
    consumer: { consumers: 1, batchSize: BATCH, maxWaitMs: MAX_WAIT, store: "file: (SQLite)" },
    seconds: SECONDS,
    redis: opt.redis,
  };
  writeFileSync(
    path.join(repoRoot, "bench/results/stream.json"),
    `${JSON.stringify({ ...meta, rows }, null, 2)}\n`,
  );
  const md = [
    `Streaming state refresh: freshness lag from XADD to the state written (servable), one consumer, ` +
      `d=${meta.model.dim}, ${meta.model.blocks} blocks, L=${meta.model.maxLen}, ${THREADS} ORT threads, ` +
      `batch ≤ ${BATCH}, max wait ${MAX_WAIT} ms, ${users.length} users (every log seeded), SQLite store, ` +
      `Redis on loopback; ${SECONDS} s per rate; ${meta.cpus} CPUs (${meta.cpu}), Node ${meta.node}, ${meta.date}`,
    "",
    "| events/s asked | sent/s | consumed/s | lag p50 (s) | lag p99 (s) | lag max (s) | events written / sent | mean batch | encoder share | 1-min load before → after |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ...rows.map(
      (r) =>
        `| ${r.rate} | ${r.achievedRate} | ${r.consumedRate} | ${r.lagP50Seconds} | ${r.lagP99Seconds} | ${r.lagMaxSeconds} | ${r.lagged} / ${r.sent} | ${r.meanBatch} | ${r.encoderShare} | ${r.load1Before} → ${r.load1After} |`,
    ),
    "",
  ].join("\n");
  writeFileSync(path.join(repoRoot, "bench/results/stream.md"), md);
  process.stdout.write(md);
} finally {
  await deletePrefix(redis, prefix);
  redis.disconnect();
  consumerRedis.disconnect();
  rmSync(tmp, { recursive: true, force: true });
}
