/**
 * The funnel sweep (issue #6, protocol 2): for each context strength r and world seed, generate the
 * world (with its Search surface), train the contextual model and the baseline on its logs, run the
 * funnel with the reference CGs and both models, and summarise every metric per (surface, r, CG)
 * as a mean with a 95% t interval over the seeds, plus the contextual/baseline lift.
 *
 * Training once per seed: a world's items, users and events do not depend on r (r only decides
 * which candidate next conversion each request takes; src/synth/generate.ts), so the worlds of one
 * seed share their logs and the models trained on them. The sweep checks this (a hash of
 * items/users/events.jsonl) and retrains whenever the logs differ. Besides saving time, the
 * figures across r then differ by the world's requests only, not by training noise.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { CompiledDataset } from "../data/dataset.ts";
import { loadDataset } from "../data/load.ts";
import { initEngine } from "../engine/backend.ts";
import { saveModel } from "../model/artifact.ts";
import { type ModelConfig, type ModelConfigOverrides, resolveModelConfig } from "../model/config.ts";
import { generateWorld } from "../synth/generate.ts";
import type { ParamOverrides } from "../synth/params.ts";
import { readWorld } from "../synth/read.ts";
import { resolveTrainArgs, type TrainArgs, type TrainArgsOverrides } from "../train/trainArgs.ts";
import { train } from "../train/trainer.ts";
import type { CompetitionSurfaceJson } from "./competition.ts";
import { type CgFolder, disposeCgs, type LoadedCg } from "./competitors.ts";
import { MODEL_CG, type ModelLift, type ModelPair, modelLift, runModelFunnel } from "./modelFunnel.ts";
import { funnelMetricsJson } from "./report.ts";
import type { FunnelArgs } from "./simulator.ts";
import type { Surface } from "./surface.ts";
import {
  checkSweepCompetitors,
  loadSeedCompetitors,
  runSweepCompetition,
  type SweepCompetitionSummary,
  summarizeCompetition,
} from "./sweepCompetition.ts";
import { type SweepSummary, summarizeSweep } from "./sweepSummary.ts";

export interface FunnelSweepArgs {
  /** Context strengths r of the worlds, each in [0, 1]. */
  rs: readonly number[];
  /** World seeds (also the training and funnel seeds of their runs). */
  seeds: readonly number[];
  /** World preset (tiny, small, large). */
  preset: string;
  /** Folder for the worlds (`worlds/`) and models (`models/`) of the sweep. */
  outDir: string;
  /** Other world parameters (r is the sweep's). */
  worldOverrides?: ParamOverrides;
  /** Model configuration of both models (the context layer is switched on/off by the sweep). */
  model?: ModelConfigOverrides;
  /** Training loop arguments of both models (the seed is the world's). */
  train?: Omit<TrainArgsOverrides, "seed">;
  /** K, S, σ of the funnel (defaults of `simulateFunnel`). */
  funnel?: Pick<FunnelArgs, "k" | "slots" | "noise" | "batchSize">;
  /** Simulate the Search surface too. Default true. */
  search?: boolean;
  /**
   * Trained CGs to compete against the seed's contextual model ("ctxrec") in a second funnel per
   * (seed, r) with only those pools (`sweepCompetition.ts`): DIR is a model folder or one per seed
   * (`DIR/seed<s>`). Default: none (no competition runs, no `competition` in the result).
   */
  competitors?: readonly CgFolder[];
  /** Progress messages (one line each: world, training, funnel). */
  onStage?: (message: string) => void;
}

/** What one model's training did (the run record keeps it). */
export interface TrainedInfo {
  version: string;
  epochs: number;
  bestEpoch: number;
  stopReason: string;
  trainMinutes: number;
}

/** One (seed, r) run. */
export interface SweepRun {
  seed: number;
  r: number;
  world: string;
  /** Hash of the world's items, users and events (equal across r for one seed). */
  logsHash: string;
  models: { contextual: TrainedInfo; baseline: TrainedInfo };
  surfaces: Partial<Record<Surface, { metrics: ReturnType<typeof funnelMetricsJson>; lift: ModelLift }>>;
  /** With competitors: per surface the competition's pool and per-CG figures. */
  competition?: Partial<Record<Surface, CompetitionSurfaceJson>>;
}

export interface FunnelSweepResult {
  protocol: "funnel-sweep";
  preset: string;
  rs: number[];
  seeds: number[];
  k: number;
  slots: number;
  noise: number;
  surfaces: Surface[];
  cgs: string[];
  /** World parameters set besides r (e.g. q); empty = the preset's. */
  worldOverrides: ParamOverrides;
  /** What both models were trained with (the seed is each run's), so a reader can rerun them. */
  training: { contextualModel: ModelConfig; train: Omit<TrainArgs, "seed"> };
  runs: SweepRun[];
  summary: SweepSummary["summary"];
  lift: SweepSummary["lift"];
  /** With competitors: the competition's figures per (surface, r, CG), over the seeds. */
  competition?: SweepCompetitionSummary;
  seconds: number;
}

/** sha256 of the files a model trains on (the logs); the requests are not among them. */
function logsHash(dir: string): string {
  const h = createHash("sha256");
  for (const f of ["items.jsonl", "users.jsonl", "events.jsonl"]) h.update(readFileSync(path.join(dir, f)));
  return h.digest("hex");
}

/** Trains the contextual model and the baseline on `ds`, saves both under `dir`. */
async function trainPair(
  ds: CompiledDataset,
  seed: number,
  args: FunnelSweepArgs,
  dir: string,
): Promise<{ pair: ModelPair; info: SweepRun["models"] }> {
  const trainArgs = resolveTrainArgs({ ...args.train, seed });
  const one = async (enabled: boolean, name: string) => {
    const config = resolveModelConfig({ ...args.model, context: { ...args.model?.context, enabled } });
    args.onStage?.(`seed ${seed}: training ${name}`);
    const result = await train(ds, config, trainArgs);
    const manifest = saveModel(path.join(dir, name), result.model, {
      dataset: ds,
      training: {
        args: trainArgs,
        epochs: result.epochs,
        bestEpoch: result.bestEpoch,
        stopReason: result.stopReason,
      },
    });
    const info: TrainedInfo = {
      version: manifest.version,
      epochs: result.epochs,
      bestEpoch: result.bestEpoch,
      stopReason: result.stopReason,
      trainMinutes: result.trainSeconds / 60,
    };
    return { model: result.model, info };
  };
  const contextual = await one(true, "contextual");
  const baseline = await one(false, "baseline");
  return {
    pair: {
      contextual: {
        model: contextual.model,
        contextK: trainArgs.pseudoContext.k,
        version: contextual.info.version,
      },
      baseline: { model: baseline.model, version: baseline.info.version },
    },
    info: { contextual: contextual.info, baseline: baseline.info },
  };
}

/** Runs the sweep (see the module comment). Deterministic for fixed seeds when training is epoch-bound. */
export async function runFunnelSweep(args: FunnelSweepArgs): Promise<FunnelSweepResult> {
  const started = performance.now();
  await initEngine();
  const runs: SweepRun[] = [];
  let cgs: string[] = [];
  let k = 0;
  let slots = 0;
  let noise = 0;
  const surfaces: Surface[] = args.search === false ? ["related"] : ["related", "search"];
  const competitors = args.competitors ?? [];
  // Every competitor folder is checked before the first training, not an hour into the sweep.
  if (competitors.length > 0) checkSweepCompetitors(competitors, args.seeds);
  for (const seed of args.seeds) {
    let trained: { hash: string; pair: ModelPair; info: SweepRun["models"]; rivals: LoadedCg[] } | undefined;
    for (const r of args.rs) {
      const worldDir = path.join(args.outDir, "worlds", `seed${seed}-r${r}`);
      args.onStage?.(`seed ${seed}, r ${r}: generating the world`);
      await generateWorld({
        preset: args.preset,
        seed,
        overrides: { ...args.worldOverrides, r },
        outDir: worldDir,
        overwrite: true,
        search: surfaces.includes("search"),
      });
      const hash = logsHash(worldDir);
      const ds = await loadDataset({ format: "jsonl", path: worldDir });
      if (trained?.hash !== hash) {
        if (trained !== undefined) disposeCgs(trained.rivals);
        // Loaded (and checked against this world) before the training they would otherwise follow.
        const rivals = await loadSeedCompetitors(competitors, seed, ds);
        const t = await trainPair(
          ds,
          seed,
          args,
          path.join(args.outDir, "models", `seed${seed}-${hash.slice(0, 12)}`),
        );
        trained = { hash, ...t, rivals };
      }
      args.onStage?.(`seed ${seed}, r ${r}: funnel`);
      const world = await readWorld(worldDir);
      const reports = await runModelFunnel(world, ds, trained.pair, { ...args.funnel, seed, surfaces });
      const run: SweepRun = { seed, r, world: worldDir, logsHash: hash, models: trained.info, surfaces: {} };
      for (const s of surfaces) {
        const report = reports[s];
        if (report === undefined) continue;
        run.surfaces[s] = { metrics: funnelMetricsJson(report), lift: modelLift(report) };
        cgs = report.metrics.map((m) => m.name);
        ({ k, slots, noise } = report);
      }
      if (competitors.length > 0) {
        args.onStage?.(`seed ${seed}, r ${r}: competition`);
        run.competition = await runSweepCompetition(world, ds, trained.pair.contextual, trained.rivals, {
          ...args.funnel,
          seed,
          surfaces,
        });
      }
      runs.push(run);
    }
    if (trained !== undefined) disposeCgs(trained.rivals);
  }
  const { summary, lift } = summarizeSweep(runs, { rs: args.rs, seeds: args.seeds, surfaces, cgs, k });
  return {
    protocol: "funnel-sweep",
    preset: args.preset,
    rs: [...args.rs],
    seeds: [...args.seeds],
    k,
    slots,
    noise,
    surfaces,
    cgs,
    worldOverrides: { ...args.worldOverrides },
    training: {
      contextualModel: resolveModelConfig({
        ...args.model,
        context: { ...args.model?.context, enabled: true },
      }),
      train: (({ seed: _seed, ...rest }) => rest)(resolveTrainArgs({ ...args.train, seed: 0 })),
    },
    runs,
    summary,
    lift,
    ...(competitors.length > 0
      ? {
          competition: summarizeCompetition(runs, { rs: args.rs, seeds: args.seeds, surfaces, k }, [
            MODEL_CG.contextual,
            ...competitors.map((c) => c.name),
          ]),
        }
      : {}),
    seconds: (performance.now() - started) / 1000,
  };
}
