/**
 * `npm run bench:peer`: the reference peer of issue 11, a plain PyTorch SASRec trained with a
 * full-softmax cross-entropy over the whole catalogue ("SASRec+", bench/reference/sasrec_torch.py),
 * under ctxrec's `loo` protocol (filtered full ranking, test targets), on
 * ../shared/data/amazon-beauty and ../shared/data/ml-100k. Writes bench/results/peer.json and
 * peer.md, merging with earlier rows (keyed by dataset, seed and threads) so a subset can be rerun:
 *   npx tsx bench/peer.ts [--datasets beauty,ml-100k] [--threads 1] [--seed 1] [--max-minutes 30]
 *                         [--python /usr/bin/python3]
 * Needs a Python with torch (the system /usr/bin/python3 here). A benchmark, not a test: Beauty
 * takes up to the 30-minute budget on one thread.
 */
import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { mergeLooRows, metric4 } from "./looRows.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const data = path.resolve(root, "../shared/data");
const script = path.join(root, "bench/reference/sasrec_torch.py");
const DATASETS: Record<string, { format: string; path: string }> = {
  beauty: { format: "s3rec", path: path.join(data, "amazon-beauty/Beauty.txt") },
  "ml-100k": { format: "movielens-100k", path: path.join(data, "ml-100k") },
};

const { values } = parseArgs({
  options: {
    datasets: { type: "string", default: "beauty,ml-100k" },
    threads: { type: "string", default: "1" },
    seed: { type: "string", default: "1" },
    "max-minutes": { type: "string", default: "30" },
    python: { type: "string", default: "/usr/bin/python3" },
  },
});

/** The JSON line sasrec_torch.py prints, plus where and when it ran. */
interface Row {
  dataset: string;
  source: string;
  model: string;
  metrics: Record<string, number>;
  validNdcg10: number;
  epochs: number;
  bestEpoch: number;
  stopReason: string;
  trainMinutes: number;
  threads: number;
  seed: number;
  torch: string;
  loadAvgStart: number;
  loadAvgEnd: number;
  users: number;
  items: number;
  targetsInHistory: number;
  config: Record<string, unknown>;
  machine: string;
  date: string;
}

/** Published figures on the same file and protocol (HIT@10 / NDCG@10), as in quality.md. */
const PUBLISHED: { dataset: string; model: string; hit10: string; ndcg10: string }[] = [
  { dataset: "beauty", model: "SASRec (published)", hit10: "≈0.060", ndcg10: "≈0.032" },
  { dataset: "beauty", model: "ICLRec (published)", hit10: "0.0744", ndcg10: "0.0403" },
  {
    dataset: "beauty",
    model: "BSARec (published, best under this protocol)",
    hit10: "0.1008",
    ndcg10: "0.0611",
  },
];

const jsonFile = path.join(root, "bench/results/peer.json");
const mdFile = path.join(root, "bench/results/peer.md");
const machine = `${os.cpus()[0]?.model ?? "?"} × ${os.cpus().length}`;
const produced: Row[] = [];

for (const name of (values.datasets ?? "").split(",").filter((s) => s !== "")) {
  const spec = DATASETS[name];
  if (spec === undefined || !existsSync(spec.path)) {
    console.error(`bench:peer: skipping ${name}: ${spec?.path ?? "unknown data set"} not found`);
    continue;
  }
  const argv = [
    script,
    "--format",
    spec.format,
    "--path",
    spec.path,
    "--threads",
    values.threads ?? "1",
    "--seed",
    values.seed ?? "1",
    "--max-minutes",
    values["max-minutes"] ?? "30",
  ];
  console.error(`bench:peer ${name}: ${values.python} ${argv.join(" ")}`);
  const out = await runPython(values.python ?? "/usr/bin/python3", argv);
  const line = out.trim().split("\n").pop() ?? "";
  const r = JSON.parse(line) as Omit<Row, "source" | "model" | "machine" | "date">;
  produced.push({
    ...r,
    source: r.dataset,
    dataset: name,
    model: "SASRec+ (PyTorch, full-softmax CE)",
    machine,
    date: new Date().toISOString(),
  });
  write();
}

// Also when nothing ran (e.g. `--datasets none`): regenerates peer.md from peer.json.
write();

/** Runs the script with stderr (its per-epoch progress) passed through; resolves to its stdout. */
function runPython(python: string, argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, argv, { stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${python} ${path.basename(argv[0])} exited with code ${code}`));
    });
  });
}

/** Rows are merged by dataset, seed and threads. */
function key(r: Row): string {
  return `${r.dataset}|${r.seed}|${r.threads}`;
}

function write(): void {
  // Merge with the rows already in peer.json (e.g. another dataset run earlier); this run's rows win.
  const rows = mergeLooRows(jsonFile, produced, key).sort((x, y) => key(x).localeCompare(key(y)));
  const f = metric4;
  const md = [
    "# Reference peer (`npm run bench:peer`)",
    "",
    "Plain PyTorch SASRec (bench/reference/sasrec_torch.py) trained with a full-softmax cross-entropy over the whole",
    "catalogue at every position (SASRec+, Klenitskiy & Vasilev 2023): d 64, max length 50, 2 blocks, 2 heads,",
    "dropout 0.5, tied item embeddings, Adam lr 1e-3, batch 128, early stopping on validation NDCG@10 (patience 10).",
    "Evaluated exactly as ctxrec's `loo`: test targets, full ranking over all items with the user's whole history",
    "removed from the candidates except the target itself, conservative ties.",
    "",
    "| dataset | model | HIT@5 | NDCG@5 | HIT@10 | NDCG@10 | HIT@20 | NDCG@20 | MRR | valid NDCG@10 | epochs (best) | stop | train min | threads | seed | load start → end |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|",
    ...rows.map(
      (r) =>
        `| ${r.dataset} | ${r.model} | ${f(r.metrics["hit@5"])} | ${f(r.metrics["ndcg@5"])} | ${f(r.metrics["hit@10"])} | ${f(r.metrics["ndcg@10"])} | ${f(r.metrics["hit@20"])} | ${f(r.metrics["ndcg@20"])} | ${f(r.metrics.mrr)} | ${f(r.validNdcg10)} | ${r.epochs} (${r.bestEpoch}) | ${r.stopReason} | ${r.trainMinutes.toFixed(1)} | ${r.threads} | ${r.seed} | ${r.loadAvgStart.toFixed(2)} → ${r.loadAvgEnd.toFixed(2)} |`,
    ),
    ...PUBLISHED.map(
      (p) => `| ${p.dataset} | ${p.model} | | | ${p.hit10} | ${p.ndcg10} | | | | | | | | | | |`,
    ),
    "",
    `Machine: ${machine}; torch ${rows[0]?.torch ?? "?"}. Load is the 1-minute load average at the start and end of each run.`,
    "",
  ];
  writeFileSync(mdFile, md.join("\n"));
}
