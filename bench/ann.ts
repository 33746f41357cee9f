/**
 * ANN benchmark: usearch vs hnswlib-node for inner-product top-K over clustered, unnormalised item
 * embeddings (Gaussian mixture, log-normal norms: src/index/synthetic.ts), against the exact index.
 *
 * Per backend: build time, recall@K vs exact and p50/p99 µs per single query at several ef, the
 * MIPS transform on/off, filtered search (10% and 1% of items eligible), save/load time and size.
 * Exact: single-query p50/p99 and batched throughput (blocked, B = 64).
 *
 * Writes bench/results/ann-n<N>.json and ann-n<N>.md. Run:
 *   npm run bench:ann                       # 100k × 64, 1000 queries
 *   npm run bench:ann -- --n 1000000        # the 1M run (minutes; use a quiet machine)
 * Flags: --n --dim --queries --k --m --ef-construction --efs 16,32,… --threads --backends usearch,hnswlib
 *        --no-mips-compare (skip the builds with the non-default MIPS transform setting)
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Rng } from "../src/core/rng.ts";
import { Eligibility } from "../src/index/eligibility.ts";
import { ExactIndex } from "../src/index/exact.ts";
import { HNSW_DEFAULTS, HnswIndex } from "../src/index/hnsw.ts";
import { HNSW_BACKENDS, type HnswBackend } from "../src/index/hnswBackends.ts";
import { loadVectorIndex } from "../src/index/load.ts";
import { gaussianMixture, syntheticIds } from "../src/index/synthetic.ts";
import type { SearchResult, VectorIndex } from "../src/index/vectorIndex.ts";

const { values: opt } = parseArgs({
  options: {
    n: { type: "string", default: "100000" },
    dim: { type: "string", default: "64" },
    queries: { type: "string", default: "1000" },
    k: { type: "string", default: "10" },
    m: { type: "string", default: "16" },
    "ef-construction": { type: "string", default: "128" },
    efs: { type: "string", default: "16,32,64,128,256" },
    threads: { type: "string", default: "2" },
    backends: { type: "string", default: HNSW_BACKENDS.join(",") },
    "no-mips-compare": { type: "boolean", default: false },
  },
});
const N = Number(opt.n);
const D = Number(opt.dim);
const Q = Number(opt.queries);
const K = Number(opt.k);
const M = Number(opt.m);
const EFC = Number(opt["ef-construction"]);
const EFS = opt.efs.split(",").map(Number);
const THREADS = Number(opt.threads);
const BACKENDS = opt.backends.split(",") as HnswBackend[];
const log = (s: string) => process.stderr.write(`[bench:ann] ${s}\n`);

const repoRoot = path.resolve(import.meta.dirname, "..");
const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-bench-ann-"));

const quantile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const round = (x: number, digits = 1) => Number(x.toFixed(digits));

/** p50/p99 µs per single query (after a warm-up pass) and the answers. */
function timeQueries(index: VectorIndex, queries: Float32Array, filter?: Eligibility) {
  const count = queries.length / D;
  const warm = Math.min(100, count);
  for (let q = 0; q < warm; q++) index.search(queries.subarray(q * D, (q + 1) * D), K, filter);
  const us: number[] = [];
  const results: SearchResult[] = [];
  for (let q = 0; q < count; q++) {
    const query = queries.subarray(q * D, (q + 1) * D);
    const t = performance.now();
    results.push(index.search(query, K, filter));
    us.push((performance.now() - t) * 1000);
  }
  return { p50Us: round(quantile(us, 0.5)), p99Us: round(quantile(us, 0.99)), results };
}

function recall(got: SearchResult[], truth: SearchResult[]): number {
  let hits = 0;
  let total = 0;
  for (let q = 0; q < got.length; q++) {
    const t = new Set(truth[q].rows);
    total += t.size;
    for (const r of got[q].rows) if (t.has(r)) hits++;
  }
  return round(hits / Math.max(1, total), 4);
}

log(`generating ${N} × ${D} items and ${Q} queries (Gaussian mixture, log-normal norms)`);
const items = {
  vectors: gaussianMixture({ n: N, dim: D, seed: 1, clusters: 256 }),
  ids: syntheticIds(N),
  dim: D,
};
const queries = gaussianMixture({ n: Q, dim: D, seed: 2, clusters: 256 });
const rng = new Rng(3);
const filters = {
  "10%": Eligibility.fromPredicate(N, () => rng.bernoulli(0.1)),
  "1%": Eligibility.fromPredicate(N, () => rng.bernoulli(0.01)),
};

log("exact ground truth");
const exact = ExactIndex.build(items, { modelVersion: "bench" });
let t0 = performance.now();
const truth = exact.searchBatch(queries, K);
const exactBatchMs = performance.now() - t0;
const exactSingle = timeQueries(exact, queries.subarray(0, Math.min(Q, 200) * D));
const truthFiltered = Object.fromEntries(
  Object.entries(filters).map(([name, f]) => [name, exact.searchBatch(queries, K, f)]),
);
const exactFiltered = Object.fromEntries(
  Object.entries(filters).map(([name, f]) => [name, timeQueries(exact, queries, f)]),
);
const exactRow = {
  batchQueriesPerS: round((Q / exactBatchMs) * 1000, 0),
  singleP50Us: exactSingle.p50Us,
  singleP99Us: exactSingle.p99Us,
  filtered: Object.fromEntries(
    Object.entries(exactFiltered).map(([n, r]) => [n, { p50Us: r.p50Us, p99Us: r.p99Us }]),
  ),
};
log(`exact: ${JSON.stringify(exactRow)}`);

const rows = [];
const DEFAULT_MIPS = HNSW_DEFAULTS.mips;
for (const backend of BACKENDS) {
  // The full ef sweep, filters and I/O for the default setting; ef 64 only for the other.
  for (const mips of opt["no-mips-compare"] ? [DEFAULT_MIPS] : [DEFAULT_MIPS, !DEFAULT_MIPS]) {
    log(`${backend} mips=${mips}: building (M=${M}, efC=${EFC}, threads=${THREADS})`);
    t0 = performance.now();
    const index = HnswIndex.build(items, {
      modelVersion: "bench",
      backend,
      m: M,
      efConstruction: EFC,
      efSearch: EFS[0],
      mips,
      threads: THREADS,
    });
    const buildS = round((performance.now() - t0) / 1000, 2);
    log(`${backend} mips=${mips}: built in ${buildS} s`);
    const perEf = [];
    for (const ef of mips === DEFAULT_MIPS ? EFS : [64]) {
      index.setEfSearch(ef);
      const r = timeQueries(index, queries);
      const row: Record<string, unknown> = {
        ef,
        recall: recall(r.results, truth),
        p50Us: r.p50Us,
        p99Us: r.p99Us,
      };
      if (mips === DEFAULT_MIPS && ef === 64) {
        for (const [name, f] of Object.entries(filters)) {
          const fr = timeQueries(index, queries, f);
          row[`filter ${name}`] = {
            recall: recall(fr.results, truthFiltered[name]),
            p50Us: fr.p50Us,
            p99Us: fr.p99Us,
          };
        }
      }
      perEf.push(row);
      log(`${backend} mips=${mips} ef=${ef}: ${JSON.stringify(row)}`);
    }
    let io = {};
    if (mips === DEFAULT_MIPS) {
      const file = path.join(tmp, `${backend}.ctxidx`);
      t0 = performance.now();
      index.save(file);
      const saveS = round((performance.now() - t0) / 1000, 2);
      t0 = performance.now();
      loadVectorIndex(file, { modelVersion: "bench" });
      io = {
        saveS,
        loadS: round((performance.now() - t0) / 1000, 2),
        fileMiB: round(statSync(file).size / 2 ** 20),
      };
      rmSync(file);
    }
    rows.push({ backend, mips, buildS, perEf, ...io });
  }
}
rmSync(tmp, { recursive: true, force: true });

const meta = {
  n: N,
  dim: D,
  queries: Q,
  k: K,
  m: M,
  efConstruction: EFC,
  buildThreads: THREADS,
  data: "Gaussian mixture, 256 overlapping clusters (spread 1), log-normal norms (σ 0.3), unnormalised",
  node: process.version,
  cpus: os.cpus().length,
  cpu: os.cpus()[0]?.model ?? "?",
  loadavg: os.loadavg().map((x) => round(x, 2)),
  date: new Date().toISOString(),
};
const out = path.join(repoRoot, "bench/results");
const stem = `ann-n${N}`;
writeFileSync(
  path.join(out, `${stem}.json`),
  `${JSON.stringify({ ...meta, exact: exactRow, rows }, null, 2)}\n`,
);

const fmtFilter = (f: unknown) => {
  const x = f as { recall: number; p50Us: number; p99Us: number } | undefined;
  return x ? `${x.recall} / ${x.p50Us} / ${x.p99Us}` : "";
};
const md = [
  `# ANN benchmark: N=${N}, d=${D}, K=${K}, ${Q} queries`,
  "",
  `${meta.data}; HNSW M=${M}, efConstruction=${EFC}, build threads ${THREADS}. ${meta.cpu} ×${meta.cpus}, Node ${meta.node}, load average at the end ${meta.loadavg.join(" ")}; ${meta.date}.`,
  "Latencies are per single query (`index.search`, one thread), p50/p99 in µs, including the exact re-scoring of the graph's candidates.",
  "",
  `Exact (plain TS): single query p50 ${exactRow.singleP50Us} µs, p99 ${exactRow.singleP99Us} µs; batched (blocked, all ${Q} queries at once) ${exactRow.batchQueriesPerS} queries/s. Filtered exact scans: ${Object.entries(
    exactRow.filtered,
  )
    .map(([n, r]) => `${n} eligible p50 ${r.p50Us} / p99 ${r.p99Us} µs`)
    .join("; ")}.`,
  "",
  "| backend | MIPS transform | build s | ef | recall@K | p50 µs | p99 µs | filter 10%: recall / p50 / p99 | filter 1%: recall / p50 / p99 |",
  "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
  ...rows.flatMap((r) =>
    r.perEf.map(
      (e) =>
        `| ${r.backend} | ${r.mips ? "yes" : "no"} | ${r.buildS} | ${e.ef} | ${e.recall} | ${e.p50Us} | ${e.p99Us} | ${fmtFilter(e["filter 10%"])} | ${fmtFilter(e["filter 1%"])} |`,
    ),
  ),
  "",
  "| backend | save s | load s | file MiB |",
  "| --- | ---: | ---: | ---: |",
  ...rows
    .filter((r) => "saveS" in r)
    .map((r) => {
      const io = r as unknown as { saveS: number; loadS: number; fileMiB: number };
      return `| ${r.backend} | ${io.saveS} | ${io.loadS} | ${io.fileMiB} |`;
    }),
  "",
];
writeFileSync(path.join(out, `${stem}.md`), md.join("\n"));
process.stdout.write(md.join("\n"));
