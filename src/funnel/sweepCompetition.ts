/**
 * Competing pools in the funnel sweep (`ctxrec funnel-sweep --cg name=DIR`): per (seed, r) and
 * surface, after the sweep's usual funnel, a competition funnel (`competition.ts`) of the seed's
 * contextual model ("ctxrec") against the given trained CGs, summarised per (surface, r, CG) as a
 * mean with a 95% t interval over the seeds, like the rest of the sweep (`interval.ts`).
 *
 * A competitor must be trained on the logs of the seed's worlds (the logs do not depend on r), so
 * `DIR` is either one model folder (used for every seed: fine for one seed, or worlds whose logs
 * agree) or a folder of one model folder per seed, `DIR/seed<s>`. Every folder is checked before
 * the first training, and each model against its seed's world before that seed's training.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { CtxrecError } from "../core/errors.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import type { World } from "../synth/types.ts";
import {
  type CompetitionSurfaceJson,
  competitionMetricKeys,
  competitionSurfaceJson,
  runCompetitionFunnel,
} from "./competition.ts";
import { type CgFolder, cgParam, checkCgNames, type LoadedCg, loadCgs } from "./competitors.ts";
import type { Interval } from "./interval.ts";
import { MODEL_CG, type ModelPair } from "./modelFunnel.ts";
import { textTable } from "./report.ts";
import type { FunnelArgs } from "./simulator.ts";
import type { Surface } from "./surface.ts";
import { cell, rKey, summarizeBySeed } from "./sweepSummary.ts";

/** The model folder of `spec` for `seed`: DIR itself when it is a model folder, else DIR/seed<s>. */
export function seedModelDir(spec: CgFolder, seed: number): string {
  if (existsSync(path.join(spec.dir, "manifest.json"))) return spec.dir;
  const perSeed = path.join(spec.dir, `seed${seed}`);
  if (existsSync(path.join(perSeed, "manifest.json"))) return perSeed;
  throw new CtxrecError(
    "CTXREC_ERR_DATA_MISSING_FILE",
    `neither ${spec.dir} nor ${perSeed} is a model folder (no manifest.json); give a model trained on seed ${seed}'s world, or a folder with one per seed as seed<s>/`,
    { param: cgParam(spec.name) },
  );
}

/** Checks the labels ("ctxrec" is the sweep's own) and that every seed has a folder; before any training. */
export function checkSweepCompetitors(specs: readonly CgFolder[], seeds: readonly number[]): void {
  checkCgNames(specs, [MODEL_CG.contextual, MODEL_CG.baseline]);
  for (const s of specs) for (const seed of seeds) seedModelDir(s, seed);
}

/** The competitors of one seed, loaded and checked against its world's logs `ds`. */
export function loadSeedCompetitors(
  specs: readonly CgFolder[],
  seed: number,
  ds: CompiledDataset,
): Promise<LoadedCg[]> {
  return loadCgs(
    specs.map((s) => ({ name: s.name, dir: seedModelDir(s, seed) })),
    ds,
  );
}

/** The competition of one (seed, r): "ctxrec" (the seed's contextual model) against the competitors. */
export async function runSweepCompetition(
  world: World,
  ds: CompiledDataset,
  contextual: ModelPair["contextual"],
  competitors: readonly LoadedCg[],
  args: Pick<FunnelArgs, "k" | "slots" | "noise" | "batchSize" | "seed"> & { surfaces: readonly Surface[] },
): Promise<Partial<Record<Surface, CompetitionSurfaceJson>>> {
  const reports = await runCompetitionFunnel(
    world,
    ds,
    [{ name: MODEL_CG.contextual, ...contextual }, ...competitors.map((c) => c.spec)],
    args,
  );
  const out: Partial<Record<Surface, CompetitionSurfaceJson>> = {};
  for (const [s, report] of Object.entries(reports)) out[s as Surface] = competitionSurfaceJson(report);
  return out;
}

/** What the sweep's JSON holds about the competition. */
export interface SweepCompetitionSummary {
  /** The competitors in report order ("ctxrec" first). */
  cgs: string[];
  /** summary[surface][r][cg][key], keys of `competitionMetricsJson`. */
  summary: Record<string, Record<string, Record<string, Record<string, Interval>>>>;
  /** pool[surface][r]: the merged pool's candidates and recall@K. */
  pool: Record<string, Record<string, Record<string, Interval>>>;
}

/** One run's competition, as the summary reads it. */
export interface CompetitionRun {
  seed: number;
  r: number;
  competition?: Partial<Record<Surface, CompetitionSurfaceJson>>;
}

/** Means and 95% t intervals over the seeds of every competition figure. */
export function summarizeCompetition(
  runs: readonly CompetitionRun[],
  grid: { rs: readonly number[]; seeds: readonly number[]; surfaces: readonly Surface[]; k: number },
  cgs: readonly string[],
): SweepCompetitionSummary {
  const summary: SweepCompetitionSummary["summary"] = {};
  const pool: SweepCompetitionSummary["pool"] = {};
  for (const s of grid.surfaces) {
    summary[s] = {};
    pool[s] = {};
    for (const r of grid.rs) {
      const perSeed = grid.seeds.map(
        (seed) => runs.find((x) => x.seed === seed && x.r === r)?.competition?.[s],
      );
      summary[s][rKey(r)] = summarizeBySeed(
        perSeed.map((x) => x?.metrics),
        cgs,
        competitionMetricKeys(grid.k),
      );
      pool[s][rKey(r)] = summarizeBySeed(
        perSeed.map((x) => (x === undefined ? undefined : { pool: x.pool })),
        ["pool"],
        ["candidates", `recall@${grid.k}`],
      ).pool;
    }
  }
  return { cgs: [...cgs], summary, pool };
}

/** The readable competition tables: one per (surface, r), mean [95% interval] over the seeds. */
export function formatCompetitionSweepTables(
  c: SweepCompetitionSummary,
  grid: { rs: readonly number[]; seeds: readonly number[]; surfaces: readonly Surface[]; k: number },
): string {
  const keys = [
    "survival_to_impression",
    "delivered_share",
    "delivered_share_exclusive",
    `recall@${grid.k}`,
    `marginal_recall@${grid.k}`,
  ];
  const heads = [
    "survival",
    "delivered share",
    "exclusive share",
    `recall@${grid.k}`,
    `marginal recall@${grid.k}`,
  ];
  const out: string[] = [];
  for (const surface of grid.surfaces) {
    for (const r of grid.rs) {
      const byCg = c.summary[surface]?.[rKey(r)] ?? {};
      const pool = c.pool[surface]?.[rKey(r)];
      out.push(
        `\ncompetition, ${surface}, r = ${r}: ${c.cgs.join(" vs ")}; merged-pool recall@${grid.k} ${cell(pool?.[`recall@${grid.k}`])}`,
      );
      out.push(
        textTable(
          ["CG", ...heads],
          c.cgs.map((cg) => [cg, ...keys.map((k) => cell(byCg[cg]?.[k]))]),
        ),
      );
    }
  }
  return `${out.join("\n")}\n`;
}
