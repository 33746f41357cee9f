/**
 * `npm run bench:quality`: trains and evaluates the documented default configuration (no
 * per-dataset tuning) on ../shared/data/amazon-beauty (with attributes) and ../shared/data/ml-100k,
 * context off (baseline) and on, under the loo protocol (filtered full ranking, test targets; on
 * these data the context at training is pseudo-context and at test there is none). Writes
 * bench/results/quality.json and quality.md (HIT/NDCG@5/10/20, MRR, training minutes), merging
 * with earlier rows so a subset can be rerun:
 *   npx tsx bench/quality.ts [--datasets beauty,ml-100k] [--variants baseline,context] [--max-minutes 30] [--seed 42]
 * or, to evaluate folders written by `ctxrec train` (no flags but the data flags) instead of training here:
 *   npx tsx bench/quality.ts --datasets beauty --models baseline=DIR,context=DIR
 * A benchmark, not a test: it takes about an hour on 2 cores.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { LoadDatasetArgs } from "../src/data/load.ts";
import { loadDataset } from "../src/data/load.ts";
import { initEngine } from "../src/engine/backend.ts";
import { createCooccurrenceScorer } from "../src/eval/baselines.ts";
import { evaluateLoo } from "../src/eval/loo.ts";
import { resolveModelConfig } from "../src/model/config.ts";
import { loadModelFor } from "../src/model/loadFor.ts";
import { disposeModel } from "../src/model/model.ts";
import { createModelScorer } from "../src/model/scorer.ts";
import { resolveTrainArgs, TRAIN_DEFAULTS } from "../src/train/trainArgs.ts";
import { train } from "../src/train/trainer.ts";
import { mergeLooRows, metric4 } from "./looRows.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const data = path.resolve(root, "../shared/data");
const DATASETS: Record<string, LoadDatasetArgs> = {
  beauty: {
    format: "s3rec",
    path: path.join(data, "amazon-beauty/Beauty.txt"),
    attributes: path.join(data, "amazon-beauty/Beauty_item2attributes.json"),
  },
  "ml-100k": { format: "movielens-100k", path: path.join(data, "ml-100k") },
};

const { values } = parseArgs({
  options: {
    datasets: { type: "string", default: "beauty,ml-100k" },
    variants: { type: "string", default: "baseline,context" },
    "max-minutes": { type: "string", default: String(TRAIN_DEFAULTS.maxMinutes) },
    seed: { type: "string", default: "42" },
    models: { type: "string" },
  },
});

interface Row {
  dataset: string;
  variant: string;
  metrics: Record<string, number>;
  validationNdcg10: number;
  epochs: number;
  bestEpoch: number;
  stopReason: string;
  trainMinutes: number;
  /** 1-minute load average when training started and ended (absent in rows from before it was kept). */
  load?: { start: number; end: number };
  /** "full" or "sampled" softmax. */
  loss?: string;
  /** Where the model came from: "bench:quality" (trained here) or "ctxrec train DIR". */
  source?: string;
  seed: number;
  machine: string;
  date: string;
}

const jsonFile = path.join(root, "bench/results/quality.json");
const rows: Row[] = existsSync(jsonFile)
  ? (JSON.parse(readFileSync(jsonFile, "utf8")) as { rows: Row[] }).rows
  : [];
const produced: Row[] = [];
const machine = `${os.cpus()[0]?.model ?? "?"} × ${os.cpus().length}, Node ${process.version}`;
await initEngine();
for (const name of (values.datasets ?? "").split(",")) {
  const args = DATASETS[name];
  if (args === undefined || !existsSync(args.path)) {
    console.error(`bench:quality: skipping ${name}: ${args?.path ?? "unknown data set"} not found`);
    continue;
  }
  const ds = await loadDataset(args);
  const cooc = await evaluateLoo(ds, createCooccurrenceScorer(ds, { window: 3 }));
  upsert(
    {
      dataset: name,
      variant: "cooccurrence(window=3)",
      metrics: cooc.metrics,
      validationNdcg10: Number.NaN,
      epochs: 0,
      bestEpoch: 0,
      stopReason: "-",
      trainMinutes: 0,
      seed: 0,
      machine,
      date: new Date().toISOString(),
    },
    true,
  );
  if (values.models !== undefined) {
    for (const spec of values.models.split(",")) {
      const [variant, dir] = spec.split("=");
      const { model, manifest } = await loadModelFor(dir, ds, "--models");
      const t = manifest.training as {
        epochs: number;
        bestEpoch: number;
        stopReason: string;
        trainMinutes: number;
        lossMode?: string;
        loadAverage?: { start: number; end: number };
        args: { seed: number };
      };
      const test = await evaluateLoo(ds, createModelScorer(model, variant));
      upsert(
        {
          dataset: name,
          variant,
          metrics: test.metrics,
          validationNdcg10: manifest.metrics["validation/ndcg@10"] ?? Number.NaN,
          epochs: t.epochs,
          bestEpoch: t.bestEpoch,
          stopReason: t.stopReason,
          trainMinutes: t.trainMinutes,
          load: t.loadAverage,
          loss: t.lossMode,
          source: `ctxrec train ${path.basename(dir)}`,
          seed: t.args.seed,
          machine,
          date: manifest.createdAt,
        },
        true,
      );
      disposeModel(model);
    }
    write();
    continue;
  }
  for (const variant of (values.variants ?? "").split(",")) {
    const config = resolveModelConfig({ context: { enabled: variant === "context" } });
    const targs = resolveTrainArgs({ seed: Number(values.seed), maxMinutes: Number(values["max-minutes"]) });
    console.error(`bench:quality ${name} ${variant}: training (budget ${targs.maxMinutes} min)…`);
    const r = await train(ds, config, targs, {
      onValidation: (v) =>
        console.error(
          `  epoch ${v.epoch}: validation NDCG@10 ${v.ndcg10.toFixed(4)} HIT@10 ${v.hit10.toFixed(4)} (${(v.elapsedSeconds / 60).toFixed(1)} min)`,
        ),
    });
    const test = await evaluateLoo(ds, createModelScorer(r.model, variant));
    upsert(
      {
        dataset: name,
        variant,
        metrics: test.metrics,
        validationNdcg10: r.validation?.metrics["ndcg@10"] ?? Number.NaN,
        epochs: r.epochs,
        bestEpoch: r.bestEpoch,
        stopReason: r.stopReason,
        trainMinutes: r.trainSeconds / 60,
        load: r.loadAverage,
        loss: r.lossMode,
        source: "bench:quality",
        seed: targs.seed,
        machine,
        date: new Date().toISOString(),
      },
      true,
    );
    disposeModel(r.model);
    write();
  }
  write();
}

// Also when nothing ran (e.g. `--datasets none`): regenerates quality.md from quality.json.
write();

/** Adds or replaces a row; `record` marks this run's own results (they win every merge). */

function upsert(row: Row, record = false): void {
  if (record) produced.push(row);
  const i = rows.findIndex((r) => r.dataset === row.dataset && r.variant === row.variant);
  if (i >= 0) rows[i] = row;
  else rows.push(row);
}

function write(): void {
  // Merge with rows written meanwhile by another bench:quality process (e.g. the other variant run in parallel).
  rows.splice(0, rows.length, ...mergeLooRows(jsonFile, produced, (r) => `${r.dataset}|${r.variant}`));
  const f = metric4;
  const md = [
    "# Quality benchmark (`npm run bench:quality`)",
    "",
    "Default configuration (docs/training.md), no per-dataset tuning; loo protocol, test targets, full ranking with the",
    "user's history removed from the candidates (S3-Rec/ICLRec protocol). Published on Beauty (same file and protocol):",
    "SASRec ≈0.060 / ≈0.032, ICLRec 0.0744 / 0.0403, BSARec 0.1008 / 0.0611 (HIT@10 / NDCG@10).",
    "",
    "| dataset | model | loss | HIT@5 | NDCG@5 | HIT@10 | NDCG@10 | HIT@20 | NDCG@20 | MRR | valid NDCG@10 | epochs (kept) | stop | train min | load start → end | source | date |",
    "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.dataset} | ${r.variant} | ${r.loss ?? (r.epochs > 0 ? "sampled" : "–")} | ${f(r.metrics["hit@5"])} | ${f(r.metrics["ndcg@5"])} | ${f(r.metrics["hit@10"])} | ${f(r.metrics["ndcg@10"])} | ${f(r.metrics["hit@20"])} | ${f(r.metrics["ndcg@20"])} | ${f(r.metrics.mrr)} | ${f(r.validationNdcg10)} | ${r.epochs} (${r.bestEpoch}) | ${r.stopReason} | ${r.trainMinutes.toFixed(1)} | ${r.load === undefined ? "–" : `${r.load.start.toFixed(2)} → ${r.load.end.toFixed(2)}`} | ${r.source ?? "bench:quality"} | ${r.date.slice(0, 10)} |`,
    ),
    "",
    `Machine: ${machine} (shared with other jobs while measured; load average ${os.loadavg()[0].toFixed(2)} at the end).`,
    "",
  ];
  writeFileSync(path.join(root, "bench/results/quality.md"), md.join("\n"));
}
