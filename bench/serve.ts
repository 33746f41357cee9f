/**
 * Serving benchmark (issue 5): the online tower alone, the ANN index at 100k and 1M items, and
 * HTTP end to end (`ctxrec serve` in a child process, autocannon in this one) at fixed rates and
 * unthrottled, with the embedded SQLite store and the Redis store.
 *
 * Setup, cached under bench/.cache/serve/ (gitignored): the tiny synthetic world's vocabularies
 * with a d = 64 model of the default architecture (2 blocks, L = 50; seeded, untrained: latency
 * does not depend on training), exported to ONNX; an HNSW index (usearch, M 16, efConstruction
 * 128) over N Gaussian-mixture item vectors (src/index/synthetic.ts) tagged with the model version
 * — the 1M build takes ≈5 min once. Each run writes 100k users' states (random, d = 64) into a
 * fresh SQLite file and into Redis DB 14 (`--redis URL`), under the model's version.
 *
 * Requests: k = 10; 10% of users have no state (cold start); a third without context, a third
 * with a subject item, a third with two weighted categories; demographics from the vocabularies.
 *
 * Load: fixed rates are sent OPEN-LOOP by a paced generator here (request i is due at start +
 * i/rate, over keep-alive sockets, however slow earlier answers are): autocannon's `overallRate`
 * is not a fixed rate — each connection fires back to back until its per-second quota is used up,
 * then idles until the next second, so "250 req/s" arrives as a burst at the top of every second
 * and measures queueing behind the burst. Latency is from the moment a request was written; the
 * "from schedule" p99 counts from when it was due (corrected for coordinated omission). The
 * unthrottled saturation run uses autocannon (closed loop, 32 connections); its latencies come
 * from its response events (fractional ms).
 *
 *   npm run bench:serve                 # full: 1M items, 10 s per rate, both stores
 *   npm run bench:serve -- --quick      # 100k items, 3 s per rate
 * Flags: --n, --duration, --rates 250,500,1000,2000, --stores file,redis, --redis URL, --ef 32
 * Writes bench/results/serve.json + serve.md (serve-quick.* with --quick).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Rng } from "../src/core/rng.ts";
import { loadDataset } from "../src/data/load.ts";
import { initEngine } from "../src/engine/backend.ts";
import { ExactIndex } from "../src/index/exact.ts";
import { HnswIndex } from "../src/index/hnsw.ts";
import { loadVectorIndex } from "../src/index/load.ts";
import { gaussianMixture } from "../src/index/synthetic.ts";
import type { SearchResult, VectorIndex } from "../src/index/vectorIndex.ts";
import { readModelManifest, saveModel } from "../src/model/artifact.ts";
import { resolveModelConfig } from "../src/model/config.ts";
import { itemFeaturesOf } from "../src/model/itemFeatures.ts";
import { createModel, disposeModel } from "../src/model/model.ts";
import { vocabSizesOf } from "../src/model/vocabSizes.ts";
import { exportOnnx } from "../src/onnx/export.ts";
import { openOnnxModel } from "../src/onnx/runtime.ts";
import { readServingTables } from "../src/serve/tables.ts";
import { openFeatureStore } from "../src/store/open.ts";
import { generateWorld } from "../src/synth/generate.ts";
import { emptyContextBatch } from "../src/train/context.ts";
import { closedLoop, paced, startServer } from "./httpLoad.ts";

const { values: opt } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    n: { type: "string" },
    duration: { type: "string" },
    rates: { type: "string", default: "250,500,1000,2000" },
    stores: { type: "string", default: "file,redis" },
    redis: { type: "string", default: "redis://127.0.0.1:6379/14" },
    ef: { type: "string", default: "32" },
    users: { type: "string", default: "100000" },
  },
});
const QUICK = opt.quick === true;
const N = Number(opt.n ?? (QUICK ? 100_000 : 1_000_000));
const DURATION = Number(opt.duration ?? (QUICK ? 3 : 10));
const RATES = opt.rates.split(",").map(Number);
const STORES = opt.stores.split(",");
const EF = Number(opt.ef);
const USERS = Number(opt.users);
const D = 64;
const K = 10;
const repoRoot = path.resolve(import.meta.dirname, "..");
const cache = path.join(repoRoot, "bench/.cache/serve");
const log = (s: string) => process.stderr.write(`[bench:serve] ${s}\n`);
const quantile = (xs: number[], p: number) => {
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const r1 = (x: number) => Number(x.toFixed(1));
const r3 = (x: number) => Number(x.toFixed(3));

// ---------------------------------------------------------------- setup (cached)
mkdirSync(cache, { recursive: true });
const loadStart = os.loadavg();
const worldDir = path.join(cache, "world");
if (!existsSync(worldDir)) await generateWorld({ preset: "tiny", seed: 1, outDir: worldDir });
const modelDir = path.join(cache, "model-d64");
if (!existsSync(path.join(modelDir, "onnx/manifest.json"))) {
  log("saving a d=64 model (default architecture, seeded) and exporting it to ONNX");
  await initEngine();
  const ds = await loadDataset({ format: "jsonl", path: worldDir });
  const m = createModel(resolveModelConfig({}), vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(1));
  saveModel(modelDir, m, { dataset: ds, createdAt: "2026-01-01T00:00:00Z" });
  disposeModel(m);
  await exportOnnx(modelDir);
}
const version = readModelManifest(modelDir).version;
const tables = readServingTables(modelDir);

/** The cached HNSW index over `n` mixture items for this model version (built once). */
function benchIndex(n: number): { path: string; buildSeconds?: number } {
  const file = path.join(cache, `items-n${n}-${version.slice(0, 12)}.ctxidx`);
  if (existsSync(file)) return { path: file };
  log(`building HNSW over ${n} × ${D} items (cached at ${path.relative(repoRoot, file)})`);
  const t = performance.now();
  const index = HnswIndex.build(
    { vectors: itemVectors(n), ids: Array.from({ length: n }, (_, i) => `bi${i}`), dim: D },
    { modelVersion: version, efSearch: EF, threads: 2 },
  );
  const buildSeconds = (performance.now() - t) / 1000;
  index.save(file);
  return { path: file, buildSeconds: r1(buildSeconds) };
}
const itemVectors = (n: number) => gaussianMixture({ n, dim: D, seed: 1, clusters: 256 });

// ---------------------------------------------------------------- 1. online tower alone
log("online tower, batch 1");
const onnx = await openOnnxModel(modelDir);
const towerUs: number[] = [];
{
  const rng = new Rng(5);
  const h = Float32Array.from({ length: D }, () => rng.normal());
  const ctx = emptyContextBatch(1, onnx.contextK);
  ctx.catIds[0] = 1;
  ctx.weights[0] = 1;
  ctx.present[0] = 1;
  const x = { B: 1, h, context: ctx, demographics: {} };
  for (let i = 0; i < 2000; i++) await onnx.online.embed(x);
  for (let i = 0; i < 20_000; i++) {
    const t = performance.now();
    await onnx.online.embed(x);
    towerUs.push((performance.now() - t) * 1000);
  }
}
const tower = { p50Us: r1(quantile(towerUs, 0.5)), p99Us: r1(quantile(towerUs, 0.99)), runs: towerUs.length };
log(`online tower p50 ${tower.p50Us} µs, p99 ${tower.p99Us} µs`);

// ---------------------------------------------------------------- 2. ANN at 100k and 1M
interface AnnRow {
  n: number;
  ef: number;
  recallAt10: number;
  p50Us: number;
  p99Us: number;
  buildSeconds?: number;
}
const annRows: AnnRow[] = [];
for (const n of QUICK ? [100_000] : [100_000, 1_000_000]) {
  const built = benchIndex(n);
  const Q = 2000;
  const R = n >= 1_000_000 ? 100 : 300; // exact truth costs ≈0.2 s per query at 1M in plain TS
  const queries = gaussianMixture({ n: Q, dim: D, seed: 2, clusters: 256 });
  log(`ANN at ${n}: exact truth for ${R} queries`);
  const exact = ExactIndex.build(
    { vectors: itemVectors(n), ids: Array.from({ length: n }, (_, i) => `bi${i}`), dim: D },
    { modelVersion: version },
  );
  const truth = exact.searchBatch(queries.subarray(0, R * D), K);
  for (const ef of [EF, 64].filter((e, i, a) => a.indexOf(e) === i)) {
    const index: VectorIndex = loadVectorIndex(built.path, { modelVersion: version, efSearch: ef });
    const got: SearchResult[] = [];
    const us: number[] = [];
    for (let q = 0; q < 200; q++) index.search(queries.subarray(q * D, (q + 1) * D), K);
    for (let q = 0; q < Q; q++) {
      const t = performance.now();
      const res = index.search(queries.subarray(q * D, (q + 1) * D), K);
      us.push((performance.now() - t) * 1000);
      if (q < R) got.push(res);
    }
    let hits = 0;
    for (let q = 0; q < R; q++) {
      const t = new Set(truth[q].rows);
      for (const r of got[q].rows) if (t.has(r)) hits++;
    }
    const row: AnnRow = {
      n,
      ef,
      recallAt10: r3(hits / (R * K)),
      p50Us: r1(quantile(us, 0.5)),
      p99Us: r1(quantile(us, 0.99)),
    };
    if (built.buildSeconds !== undefined && ef === EF) row.buildSeconds = built.buildSeconds;
    annRows.push(row);
    log(`ANN n=${n} ef=${ef}: recall@10 ${row.recallAt10}, p50 ${row.p50Us} µs, p99 ${row.p99Us} µs`);
  }
}

// ---------------------------------------------------------------- 3. HTTP end to end
const httpIndex = benchIndex(N).path;
const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-bench-serve-"));

/** 100k users' states under the model version, activated. */
async function fillStore(url: string): Promise<void> {
  const store = await openFeatureStore(url, { modelVersion: version, dim: D, mode: "write" });
  const rng = new Rng(7);
  const now = Math.floor(Date.now() / 1000);
  for (let a = 0; a < USERS; a += 5000) {
    const batch = [];
    for (let u = a; u < Math.min(USERS, a + 5000); u++) {
      const vector = new Float32Array(D);
      for (let j = 0; j < D; j++) vector[j] = rng.normal();
      batch.push({ user: `bu${u}`, vector, modelVersion: version, computedAt: now - rng.int(86_400) });
    }
    await store.putMany(batch);
  }
  await store.activate();
  await store.close();
}

/** 2,000 request bodies of the mix described in the module comment. */
function requestBodies(): string[] {
  const rng = new Rng(9);
  const items = tables.itemIds;
  const cats = [...tables.categories.keys()];
  const countries = [...(tables.demographics.country?.keys() ?? [])];
  const out: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const cold = rng.float() < 0.1;
    const body: Record<string, unknown> = { userId: cold ? `cold${i}` : `bu${rng.int(USERS)}`, k: K };
    const kind = i % 3;
    if (kind === 1) body.context = { subjectItemId: items[1 + rng.int(items.length - 1)] };
    if (kind === 2)
      body.context = {
        categories: [
          { id: cats[rng.int(cats.length)], confidence: 0.7 },
          { id: cats[(1 + rng.int(cats.length - 1)) % cats.length], confidence: 0.3 },
        ].filter((c, j, a) => a.findIndex((x) => x.id === c.id) === j),
      };
    if (countries.length > 0)
      body.demographics = { country: countries[rng.int(countries.length)], age: 18 + rng.int(50) };
    out.push(JSON.stringify(body));
  }
  return out;
}

/** Starts `ctxrec serve` on a free port over the bench index and `storeUrl`. */
function startBenchServer(storeUrl: string) {
  return startServer([
    "--model",
    modelDir,
    "--index",
    httpIndex,
    "--store",
    storeUrl,
    "--port",
    "0",
    "--ef-search",
    String(EF),
    "--log-level",
    "warn",
  ]);
}

interface HttpRow {
  store: string;
  /** Target rate, or "max" (unthrottled). */
  rate: number | "max";
  /** autocannon connections of the unthrottled run; 0 for the open-loop fixed-rate runs (sockets as needed). */
  connections: number;
  /** Completed 2xx responses per second. */
  throughput: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  /** p99 counted from when each request was due (fixed rates) — corrected for coordinated omission. */
  p99FromScheduleMs: number | null;
  errors: number;
}

/** Open-loop load at `rate` req/s for `seconds` (see the module comment). */
async function openLoop(url: string, bodies: string[], rate: number, seconds: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const ms: number[] = [];
  const fromSchedule: number[] = [];
  let errors = 0;
  const post = (body: string, due: number) =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const req = http.request(
        `${url}/v1/candidates`,
        {
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on("end", () => {
            const t1 = performance.now();
            if (res.statusCode === 200) {
              ms.push(t1 - t0);
              fromSchedule.push(t1 - due);
            } else errors++;
            resolve();
          });
        },
      );
      req.on("error", () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  const total = Math.round(rate * seconds);
  const elapsed = await paced(rate, total, (i, due) => post(bodies[i % bodies.length], due));
  agent.destroy();
  return { ms, fromSchedule, errors, seconds: elapsed };
}

const httpRows: HttpRow[] = [];
const bodies = requestBodies();
for (const store of STORES) {
  const url = store === "redis" ? opt.redis : `file:${path.join(tmp, "state.db")}`;
  log(`HTTP with the ${store} store: writing ${USERS} users' states`);
  try {
    await fillStore(url);
  } catch (err) {
    log(`skipping the ${store} store: ${(err as Error).message}`);
    continue;
  }
  const { child, url: base } = await startBenchServer(url);
  try {
    await openLoop(base, bodies, 500, 2); // warm-up (JIT, caches)
    for (const rate of RATES) {
      const p = await openLoop(base, bodies, rate, DURATION);
      const row: HttpRow = {
        store,
        rate,
        connections: 0,
        throughput: Math.round(p.ms.length / p.seconds),
        p50Ms: r3(quantile(p.ms, 0.5)),
        p99Ms: r3(quantile(p.ms, 0.99)),
        p999Ms: r3(quantile(p.ms, 0.999)),
        p99FromScheduleMs: r3(quantile(p.fromSchedule, 0.99)),
        errors: p.errors,
      };
      httpRows.push(row);
      log(
        `${store} rate ${rate}: ${row.throughput} req/s, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, p99.9 ${row.p999Ms} ms, p99 from schedule ${row.p99FromScheduleMs} ms, errors ${row.errors}`,
      );
    }
    const { res, ms, ok } = await closedLoop(base, bodies, undefined, 32, DURATION);
    const row: HttpRow = {
      store,
      rate: "max",
      connections: 32,
      throughput: Math.round(ok / res.duration),
      p50Ms: r3(quantile(ms, 0.5)),
      p99Ms: r3(quantile(ms, 0.99)),
      p999Ms: r3(quantile(ms, 0.999)),
      p99FromScheduleMs: null,
      errors: res.errors + res.non2xx + res.timeouts,
    };
    httpRows.push(row);
    log(
      `${store} unthrottled: ${row.throughput} req/s, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, errors ${row.errors}`,
    );
  } finally {
    child.kill("SIGTERM");
  }
}
rmSync(tmp, { recursive: true, force: true });
await onnx.close();

// ---------------------------------------------------------------- results
const loadEnd = os.loadavg();
const result = {
  date: new Date().toISOString(),
  machine: {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model,
    loadavgStart: loadStart,
    loadavgEnd: loadEnd,
  },
  args: {
    quick: QUICK,
    n: N,
    durationS: DURATION,
    rates: RATES,
    stores: STORES,
    ef: EF,
    users: USERS,
    k: K,
    d: D,
  },
  modelVersion: version,
  onlineTower: tower,
  ann: annRows,
  http: httpRows,
};
const name = QUICK ? "serve-quick" : "serve";
const resultsDir = path.join(repoRoot, "bench/results");
writeFileSync(path.join(resultsDir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
const md = [
  `# bench:serve${QUICK ? " --quick" : ""} (${result.date})`,
  "",
  `${result.machine.cpus} CPUs (${result.machine.model}), load average at start ${loadStart.map((x) => x.toFixed(2)).join(" / ")}, at end ${loadEnd.map((x) => x.toFixed(2)).join(" / ")}. d = ${D}, k = ${K}, HTTP over ${N.toLocaleString("en-US")} items, ${USERS.toLocaleString("en-US")} users with state, ${DURATION} s per rate.`,
  "",
  "## Online tower alone (ONNX Runtime, batch 1, includes the Node↔ORT call)",
  "",
  "| runs | p50 µs | p99 µs |",
  "| ---: | -----: | -----: |",
  `| ${tower.runs} | ${tower.p50Us} | ${tower.p99Us} |`,
  "",
  "## ANN (HNSW usearch, M 16, efConstruction 128; Gaussian-mixture items and queries)",
  "",
  "| items | ef | recall@10 | p50 µs | p99 µs | build s |",
  "| ----: | -: | --------: | -----: | -----: | ------: |",
  ...annRows.map(
    (r) =>
      `| ${r.n.toLocaleString("en-US")} | ${r.ef} | ${r.recallAt10} | ${r.p50Us} | ${r.p99Us} | ${r.buildSeconds ?? "(cached)"} |`,
  ),
  "",
  `## HTTP end to end (POST /v1/candidates, ef ${EF}, loopback, server in a child process; fixed rates open-loop, "max" = autocannon with 32 connections)`,
  "",
  "| store | target req/s | served req/s | p50 ms | p99 ms | p99.9 ms | p99 from schedule ms | errors |",
  "| ----- | -----------: | -----------: | -----: | -----: | -------: | -------------------: | -----: |",
  ...httpRows.map(
    (r) =>
      `| ${r.store} | ${r.rate} | ${r.throughput} | ${r.p50Ms} | ${r.p99Ms} | ${r.p999Ms} | ${r.p99FromScheduleMs ?? "—"} | ${r.errors} |`,
  ),
  "",
];
writeFileSync(path.join(resultsDir, `${name}.md`), md.join("\n"));
process.stdout.write(md.join("\n"));
log(`wrote bench/results/${name}.json and ${name}.md`);
