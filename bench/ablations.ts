/**
 * `npm run bench:ablations`: which settings of the contextual model matter (issue #6). On a
 * synthetic world per seed, trains the default configuration, the `--no-context` baseline and every
 * variant that differs from the defaults in ONE setting (src/pipeline/ablationVariants.ts: context
 * dropout, pseudo-context projection, corruption, whole-context dropout, the no-context loss,
 * fusion), plus the default model at other staleness cut-offs. Per variant: loo NDCG@10/HIT@10 (no
 * context) and stale-context NDCG@10/HIT@10 of the contextual figure (stale state + context), the
 * delta vs the default, and 95% intervals (bootstrap over users stratified by seed, paired where
 * the users are the same; src/pipeline/ablationStats.ts).
 *
 *   npx tsx bench/ablations.ts [--preset small] [--seeds 1,2,3] [--minutes 5] [--epochs 200]
 *                              [--resamples 1000] [--out bench/results] [--work DIR] [--fresh]
 *   npx tsx bench/ablations.ts --quick     # tiny world, 1 seed, seconds per run: a smoke run
 *   npx tsx bench/ablations.ts --report-only [same flags]   # tables from the cells done so far
 *   npx tsx bench/ablations.ts --only "KEY KEY" [same flags]   # train just these, in this order (keys hold commas)
 *
 * Writes OUT/ablations.json (rows: src/pipeline/ablationRows.ts) and ablations.md (OUT: bench/results,
 * or $TMPDIR/ctxrec-ablations-quick with --quick, so a smoke run never stands in for the real one).
 * Resumable: every finished (configuration, seed) is cached with its per-user ranks (clamped to 255)
 * in OUT/cells-ablations.json and
 * skipped on the next run with the same preset, budget and resolved configuration (a change of the
 * defaults of `ctxrec train` retrains what it affects; --fresh starts over); the baseline of
 * each seed is saved under --work so stale-context can be ranked against it after a restart.
 * Long: 14 trainings per seed at --minutes each plus their evaluations (≈4–5 h with the defaults on
 * the shared 2-core machine). With a time budget the variants may reach different epoch counts
 * (cross-attention and the no-context loss cost more per step): the runs table says how many; for
 * budget-free comparisons pass a generous --minutes and a fixed --epochs.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { writeJsonAtomic } from "../src/core/atomicFile.ts";
import { deriveSeed, Rng } from "../src/core/rng.ts";
import type { CompiledDataset } from "../src/data/dataset.ts";
import { loadDataset } from "../src/data/load.ts";
import { initEngine } from "../src/engine/backend.ts";
import { loadModel, saveModel } from "../src/model/artifact.ts";
import { resolveModelConfig } from "../src/model/config.ts";
import { type CtxrecModel, disposeModel } from "../src/model/model.ts";
import { createModelScorer } from "../src/model/scorer.ts";
import { ABLATION_METRICS, type AblationRow, type AblationsFile } from "../src/pipeline/ablationRows.ts";
import { type AblationRanks, perUser, runAblationCell } from "../src/pipeline/ablationRun.ts";
import {
  bootstrapColumns,
  type Column,
  differences,
  interval95,
  pointEstimate,
} from "../src/pipeline/ablationStats.ts";
import {
  type AblationVariant,
  ablationConfigs,
  ablationVariants,
  BASELINE_KEY,
  DEFAULT_KEY,
  PRIMARY_CUTOFF,
  requiredKeys,
  STALENESS_CUTOFFS,
} from "../src/pipeline/ablationVariants.ts";
import { generateWorld } from "../src/synth/generate.ts";
import { resolveTrainArgs } from "../src/train/trainArgs.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    preset: { type: "string" },
    seeds: { type: "string" },
    minutes: { type: "string" },
    epochs: { type: "string" },
    resamples: { type: "string", default: "1000" },
    out: { type: "string" },
    work: { type: "string" },
    fresh: { type: "boolean", default: false },
    "report-only": { type: "boolean", default: false },
    only: { type: "string" },
  },
});
const quick = values.quick === true;
// Writes the tables from the cells cached so far without training: configurations not trained for
// every seed are listed as not run, and the groups keep the rows they have.
const reportOnly = values["report-only"] === true;
const preset = values.preset ?? (quick ? "tiny" : "small");
const seeds = (values.seeds ?? (quick ? "1" : "1,2,3")).split(",").map(Number);
const minutes = Number(values.minutes ?? (quick ? "0.05" : "5"));
const epochs = Number(values.epochs ?? (quick ? "4" : "200"));
const resamples = Number(values.resamples);
for (const [flag, ok] of [
  ["--seeds", seeds.length > 0 && seeds.every(Number.isInteger)],
  ["--minutes", minutes > 0],
  ["--epochs", Number.isInteger(epochs) && epochs >= 1],
  ["--resamples", Number.isInteger(resamples) && resamples >= 1],
] as const) {
  if (!ok) throw new Error(`bench:ablations: bad ${flag}`);
}
const name = "ablations";
// A smoke run (--quick) writes outside the repository so it never stands in for the real results.
const outDir = path.resolve(
  values.out ?? (quick ? path.join(os.tmpdir(), "ctxrec-ablations-quick") : path.join(root, "bench/results")),
);
const work = path.resolve(values.work ?? path.join(os.tmpdir(), `ctxrec-ablations-${preset}`));
// Not "ablations*.json": `ctxrec report` reads every such file as ablation rows.
const cacheFile = path.join(outDir, "cells-ablations.json");

/** The resume cache: per (configuration, seed), its summary and base64 clamped ranks. */
interface Cache {
  settings: { preset: string; minutes: number; epochs: number };
  cells: Record<
    string,
    Omit<AblationRanks, "loo" | "stale"> & { loo: string; stale: Record<string, string> }
  >;
}
const settings = { preset, minutes, epochs };
const b64 = (a: Uint8Array) => Buffer.from(a).toString("base64");
const unb64 = (s: string) => new Uint8Array(Buffer.from(s, "base64"));

function readCache(): Cache {
  if (values.fresh || !existsSync(cacheFile)) return { settings, cells: {} };
  const c = JSON.parse(readFileSync(cacheFile, "utf8")) as Cache;
  if (JSON.stringify(c.settings) !== JSON.stringify(settings)) {
    throw new Error(
      `bench:ablations: ${cacheFile} holds runs with ${JSON.stringify(c.settings)}, not ${JSON.stringify(settings)}; rerun with those flags to resume, or --fresh to start over`,
    );
  }
  return c;
}

/**
 * Fingerprint of a configuration as trained: the resolved model config and train args (without
 * the seed). A change of the defaults of `ctxrec train` changes it, so cached cells trained under
 * other defaults are not reused.
 */
function fingerprint(key: string): string {
  const c = ablationConfigs().get(key);
  if (c === undefined) throw new Error(`bench:ablations: no configuration '${key}'`);
  const model = resolveModelConfig({ ...c.model, context: { ...c.model?.context, enabled: c.contextual } });
  const train = resolveTrainArgs({ ...c.train, seed: 0, maxMinutes: minutes, epochs });
  return createHash("sha256").update(JSON.stringify({ model, train })).digest("hex").slice(0, 12);
}
const cellKey = (key: string, seed: number) => `${key}#${fingerprint(key)}@${seed}`;
const log = (m: string) =>
  process.stderr.write(`[ablations ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

/** Cut-offs each configuration is ranked at: the staleness sweep for the default and the baseline. */
const cutoffsOf = (key: string) =>
  key === DEFAULT_KEY || key === BASELINE_KEY ? STALENESS_CUTOFFS : [PRIMARY_CUTOFF];

async function runSeed(seed: number, cache: Cache, keys: string[]): Promise<void> {
  const todo = keys.filter((k) => cache.cells[cellKey(k, seed)] === undefined);
  if (todo.length === 0) return;
  const worldDir = path.join(work, `world-seed${seed}`);
  log(`seed ${seed}: world (${preset}) → ${worldDir}`);
  await generateWorld({ preset, seed, outDir: worldDir, overwrite: true });
  const ds: CompiledDataset = await loadDataset({ format: "jsonl", path: worldDir });
  const configs = ablationConfigs();
  const baselineDir = path.join(work, `baseline-seed${seed}-${fingerprint(BASELINE_KEY)}`);
  let baseline: CtxrecModel | undefined;
  if (cache.cells[cellKey(BASELINE_KEY, seed)] !== undefined && existsSync(baselineDir)) {
    baseline = loadModel(baselineDir).model;
  }
  // The baseline first: every other configuration's stale-context passes rank against it.
  const ordered = [BASELINE_KEY, ...todo.filter((k) => k !== BASELINE_KEY)].filter(
    (k) => k !== BASELINE_KEY || baseline === undefined,
  );
  for (const key of ordered) {
    const config = configs.get(key);
    if (config === undefined) throw new Error(`bench:ablations: no configuration '${key}'`);
    log(`seed ${seed}: training ${key} (${minutes} min, ≤ ${epochs} epochs)`);
    const baseScorer = baseline === undefined ? undefined : createModelScorer(baseline, "baseline");
    const { ranks, model } = await runAblationCell(
      ds,
      key,
      config,
      seed,
      { maxMinutes: minutes, epochs },
      baseScorer,
      cutoffsOf(key),
    );
    if (key === BASELINE_KEY) {
      baseline = model;
      saveModel(baselineDir, model, { dataset: ds });
    } else {
      disposeModel(model);
    }
    const { loo, stale, ...info } = ranks;
    cache.cells[cellKey(key, seed)] = {
      ...info,
      loo: b64(loo),
      stale: Object.fromEntries(Object.entries(stale).map(([c, r]) => [c, b64(r)])),
    };
    writeJsonAtomic(cacheFile, cache);
    log(
      `seed ${seed}: ${key}: ${info.epochs} epochs (${info.stopReason}), ${info.trainMinutes.toFixed(2)} min, ` +
        `loo NDCG@10 ${mean(perUser(loo, "ndcg", 10)).toFixed(4)}, stale NDCG@10 ${mean(perUser(stale[String(PRIMARY_CUTOFF)], "ndcg", 10)).toFixed(4)}`,
    );
  }
  if (baseline !== undefined) disposeModel(baseline);
}

function mean(x: Float64Array): number {
  let s = 0;
  for (const v of x) s += v;
  return x.length > 0 ? s / x.length : 0;
}

/** Column name and user set of (configuration, metric, cut-off). */
function columnOf(key: string, metric: string, cutoff: number): { name: string; set: string } {
  return metric.startsWith("loo/")
    ? { name: `${key}|${metric}`, set: "loo" }
    : { name: `${key}|${metric}|${cutoff}`, set: `stale:${cutoff}` };
}

/** Every column the rows need, from the cache (per seed, per user). */
function buildColumns(cache: Cache, variants: readonly AblationVariant[]): Map<string, Column> {
  const cols = new Map<string, Column>();
  for (const v of variants) {
    for (const metric of ABLATION_METRICS) {
      const { name: col, set } = columnOf(v.key, metric, v.cutoff);
      if (cols.has(col)) continue;
      const [kind, at] = metric.split("/");
      const [m, k] = at.split("@");
      const perSeed = seeds.map((seed) => {
        const cell = cache.cells[cellKey(v.key, seed)];
        const ranks = kind === "loo" ? cell.loo : cell.stale[String(v.cutoff)];
        return perUser(unb64(ranks), m as "hit" | "ndcg", Number(k));
      });
      cols.set(col, { set, perSeed });
    }
  }
  return cols;
}

function buildRows(cache: Cache, variants: readonly AblationVariant[]): AblationRow[] {
  const cols = buildColumns(cache, variants);
  const reps = bootstrapColumns(cols, resamples, new Rng(deriveSeed(0, "ablations-bootstrap")));
  const rows: AblationRow[] = [];
  for (const v of variants) {
    const ref = variants.find((x) => x.group === v.group && x.isDefault) as AblationVariant;
    for (const metric of ABLATION_METRICS) {
      // The staleness group re-evaluates one model: its loo figures would all be the same row.
      if (v.group === "staleness" && metric.startsWith("loo/")) continue;
      const c = columnOf(v.key, metric, v.cutoff).name;
      const r = columnOf(ref.key, metric, ref.cutoff).name;
      const value = pointEstimate(cols.get(c) as Column);
      const [low, high] = interval95(reps.get(c) as Float64Array);
      const row: AblationRow = { group: v.group, variant: v.variant, metric, value, low, high };
      if (!v.isDefault) {
        const [deltaLow, deltaHigh] = interval95(
          differences(reps.get(c) as Float64Array, reps.get(r) as Float64Array),
        );
        Object.assign(row, { delta: value - pointEstimate(cols.get(r) as Column), deltaLow, deltaHigh });
      }
      rows.push(row);
    }
  }
  return rows;
}

const f4 = (x: number | undefined) => (x === undefined ? "" : x.toFixed(4));
const signed = (x: number | undefined) => (x === undefined ? "" : `${x >= 0 ? "+" : ""}${x.toFixed(4)}`);

function markdown(file: AblationsFile): string {
  const lines = [
    `# Ablations (${file.preset} world, seeds ${file.seeds.join(", ")}, ${file.minutesPerRun} min / ≤ ${file.epochs} epochs per run)`,
    "",
    `Generated by \`npx tsx bench/ablations.ts${quick ? " --quick" : ""}\` on ${file.createdAt} (${file.machine.cpus} CPUs, load ${file.machine.loadAverage.map((x) => x.toFixed(1)).join(" / ")}).`,
    "Each variant changes ONE setting from the defaults of `ctxrec train`. loo: test targets, no context. stale: the contextual figure of",
    `stale-context (state cut ${file.staleCutoffSeconds / 3600} h before the target unless the staleness group says otherwise; context = the event before the target).`,
    `Intervals: 95% percentile bootstrap over users (${file.resamples} resamples, stratified by seed); Δ intervals are paired when both rows score the same users.`,
    "",
    "| group | variant | metric | value | 95% interval | Δ vs default | Δ 95% interval |",
    "| --- | --- | --- | ---: | --- | ---: | --- |",
  ];
  for (const r of file.rows) {
    lines.push(
      `| ${r.group} | ${r.variant} | ${r.metric} | ${f4(r.value)} | [${f4(r.low)}, ${f4(r.high)}] | ${signed(r.delta)} | ${
        r.delta === undefined ? "" : `[${signed(r.deltaLow)}, ${signed(r.deltaHigh)}]`
      } |`,
    );
  }
  lines.push(
    "",
    "| configuration | seed | epochs | stop | train min | loo users | stale users |",
    "| --- | ---: | ---: | --- | ---: | ---: | ---: |",
  );
  for (const r of file.runs) {
    lines.push(
      `| ${r.key} | ${r.seed} | ${r.epochs} | ${r.stopReason} | ${r.trainMinutes.toFixed(2)} | ${r.looUsers} | ${r.staleUsers} |`,
    );
  }
  if (file.notRun !== undefined) {
    lines.push(
      "",
      `Not run yet (no rows): ${file.notRun.join(", ")}. The bench was stopped before them; the same command resumes.`,
    );
  }
  return `${lines.join("\n")}\n`;
}

async function main(): Promise<void> {
  await initEngine();
  mkdirSync(outDir, { recursive: true });
  const cache = readCache();
  const variants = ablationVariants();
  const keys = requiredKeys(variants);
  // --only: train just these configurations, in the order given (the most wanted first when time is
  // short); the tables still use every configuration cached.
  const only = values.only?.split(/[\s;]+/).filter((k) => k !== "");
  const unknown = only?.filter((k) => !keys.includes(k)) ?? [];
  if (unknown.length > 0) {
    throw new Error(
      `bench:ablations: --only names unknown configurations ${unknown.join(", ")}; known: ${keys.join(", ")}`,
    );
  }
  log(
    `${keys.length} configurations × ${seeds.length} seeds (${preset}, ${minutes} min each); cache ${cacheFile}`,
  );
  if (!reportOnly) for (const seed of seeds) await runSeed(seed, cache, only ?? keys);
  // Drop cells of configurations no longer in the grid (or trained under other defaults).
  // (Not with --report-only: that run only reads, so it may run beside the one that trains.)
  const current = new Set(seeds.flatMap((seed) => keys.map((k) => cellKey(k, seed))));
  if (!reportOnly) {
    for (const k of Object.keys(cache.cells)) if (!current.has(k)) delete cache.cells[k];
    writeJsonAtomic(cacheFile, cache);
  }
  const done = keys.filter((key) => seeds.every((seed) => cache.cells[cellKey(key, seed)] !== undefined));
  const notRun = keys.filter((key) => !done.includes(key));
  if (!done.includes(DEFAULT_KEY)) {
    throw new Error("bench:ablations: the default configuration has not been trained for every seed yet");
  }
  const runs = seeds.flatMap((seed) =>
    done.map((key) => {
      const c = cache.cells[cellKey(key, seed)];
      return {
        key,
        seed,
        epochs: c.epochs,
        bestEpoch: c.bestEpoch,
        stopReason: c.stopReason,
        trainMinutes: c.trainMinutes,
        looUsers: unb64(c.loo).length,
        staleUsers: unb64(c.stale[String(PRIMARY_CUTOFF)]).length,
      };
    }),
  );
  const file: AblationsFile = {
    bench: "ablations",
    preset,
    seeds,
    minutesPerRun: minutes,
    epochs,
    resamples,
    staleCutoffSeconds: PRIMARY_CUTOFF,
    machine: { cpus: os.cpus().length, loadAverage: os.loadavg() },
    createdAt: new Date().toISOString(),
    rows: buildRows(
      cache,
      variants.filter((v) => done.includes(v.key)),
    ),
    runs,
    ...(notRun.length > 0 ? { notRun } : {}),
  };
  writeJsonAtomic(path.join(outDir, `${name}.json`), file);
  writeFileSync(path.join(outDir, `${name}.md`), markdown(file));
  log(`wrote ${path.join(outDir, `${name}.json`)} and ${name}.md (${file.rows.length} rows)`);
}

// An error is printed as one message: left to reach the top level, the rethrow handler that
// tfjs-backend-wasm installs prints its whole minified source line instead.
await main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
