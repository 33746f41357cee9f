/**
 * Evaluation benchmark (`npx tsx bench/eval.ts`, needs ../shared/data):
 * 1. the time of one exact full-ranking `loo` pass over Amazon Beauty (22,363 users × 12,102 items)
 *    for an embedding scorer with d = 64 random embeddings, with the onnxruntime and the plain
 *    TypeScript matmul (median of REPS passes for onnxruntime after a warm-up; one TypeScript pass);
 * 2. the sanity figures of the reference scorers (popularity, co-occurrence) on ml-100k and Beauty.
 * Writes bench/results/eval.json and eval.md.
 */
import { existsSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { deriveSeed, Rng } from "../src/core/rng.ts";
import type { CompiledDataset } from "../src/data/dataset.ts";
import { type LoadDatasetArgs, loadDataset } from "../src/data/load.ts";
import { createCooccurrenceScorer, createPopularityScorer } from "../src/eval/baselines.ts";
import { evaluateLoo, looTargets, rankLoo } from "../src/eval/loo.ts";
import type { EmbeddingScorer } from "../src/eval/scorer.ts";

const REPS = 3;
const D = 64;
const repoRoot = path.resolve(import.meta.dirname, "..");
const dataDir = path.resolve(repoRoot, "../shared/data");
const sets: { name: string; args: LoadDatasetArgs }[] = [
  { name: "ml-100k", args: { format: "movielens-100k", path: path.join(dataDir, "ml-100k") } },
  {
    name: "amazon-beauty",
    args: { format: "s3rec", path: path.join(dataDir, "amazon-beauty/Beauty.txt") },
  },
];

/** d-wide Gaussian embeddings for every item and user, fixed by the seed. */
function randomScorer(ds: CompiledDataset, d: number, seed: number): EmbeddingScorer {
  const rng = new Rng(deriveSeed(seed, "bench-eval/random-embeddings"));
  const items = Float32Array.from({ length: ds.itemVocab.size * d }, () => rng.normal());
  const users = Float32Array.from({ length: ds.userVocab.size * d }, () => rng.normal());
  return {
    kind: "embedding",
    name: `random-d${d}`,
    dim: d,
    itemEmbeddings: () => items,
    userEmbeddings: async (batch) => {
      const out = new Float32Array(batch.size * d);
      for (let b = 0; b < batch.size; b++)
        out.set(users.subarray(batch.users[b] * d, (batch.users[b] + 1) * d), b * d);
      return out;
    },
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const timing: Record<string, number | string>[] = [];
const sanity: Record<string, number | string>[] = [];
for (const s of sets) {
  if (!existsSync(s.args.path)) {
    process.stderr.write(`skipping ${s.name}: ${s.args.path} not found\n`);
    continue;
  }
  const ds = await loadDataset(s.args);
  for (const scorer of [
    createPopularityScorer(ds),
    createCooccurrenceScorer(ds),
    createCooccurrenceScorer(ds, { window: 3 }),
  ]) {
    const r = await evaluateLoo(ds, scorer);
    sanity.push({
      dataset: s.name,
      model: scorer.name,
      users: r.users,
      "hit@10": r.metrics["hit@10"],
      "ndcg@10": r.metrics["ndcg@10"],
      "hit@10 unfiltered": r.metricsUnfiltered["hit@10"],
      "ndcg@10 unfiltered": r.metricsUnfiltered["ndcg@10"],
    });
  }
  if (s.name !== "amazon-beauty") continue;
  const scorer = randomScorer(ds, D, 1);
  const B = 256;
  const N = ds.itemVocab.size;
  await rankLoo(ds, scorer, { batchSize: B }); // warm-up (JIT, onnxruntime session)
  const ortMs: number[] = [];
  for (let r = 0; r < REPS; r++) ortMs.push(await timeMs(() => rankLoo(ds, scorer, { batchSize: B })));
  const tsMs = await timeMs(() => rankLoo(ds, scorer, { batchSize: B, matmul: "typescript" }));
  const users = looTargets(ds, "test").users.length;
  const flop = 2 * users * N * D;
  for (const [matmul, ms] of [
    ["onnxruntime (2 threads)", median(ortMs)],
    ["typescript", tsMs],
  ] as const) {
    timing.push({
      dataset: s.name,
      users,
      items: N - 1,
      d: D,
      batch: B,
      matmul,
      seconds: Number((ms / 1000).toFixed(2)),
      "users/s": Math.round(users / (ms / 1000)),
      "GFLOP/s (matmul only counted)": Number((flop / (ms / 1000) / 1e9).toFixed(2)),
    });
  }
}

const env = `${os.cpus().length} CPUs, Node ${process.version}`;
const table = (rows: Record<string, number | string>[]) => {
  if (rows.length === 0) return "(no data)\n";
  const cols = Object.keys(rows[0]);
  const fmt = (v: number | string) =>
    typeof v === "number" && !Number.isInteger(v) && v < 1 ? v.toFixed(4) : String(v);
  return [
    `| ${cols.join(" | ")} |`,
    `| ${cols.map((c, i) => (i === 0 || typeof rows[0][c] === "string" ? "---" : "---:")).join(" | ")} |`,
    ...rows.map((r) => `| ${cols.map((c) => fmt(r[c])).join(" | ")} |`),
  ].join("\n");
};
const md =
  `Evaluation (loo protocol, full ranking; ${env})\n\n` +
  `Exact full-ranking pass over all users with random d=${D} embeddings (wall time of \`rankLoo\`: ` +
  `batch building, scoring and ranking; onnxruntime = median of ${REPS} after a warm-up):\n\n${table(timing)}\n\n` +
  "Reference scorers, K = 10 (filtered = history items removed from the candidates, the S3-Rec/ICLRec figure):\n\n" +
  `${table(sanity)}\n`;
const resultsDir = path.join(repoRoot, "bench/results");
writeFileSync(path.join(resultsDir, "eval.json"), `${JSON.stringify({ env, timing, sanity }, null, 2)}\n`);
writeFileSync(path.join(resultsDir, "eval.md"), md);
process.stdout.write(md);
