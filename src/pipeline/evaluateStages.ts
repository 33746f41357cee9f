/**
 * The evaluation stages of a pipeline on a synthetic world, with the trained models in memory:
 * `loo` for both models, `stale-context` (the world has real timestamps, so time cut-offs), and the
 * funnel with both models as candidate generators, and with competitors the competition funnel
 * (src/funnel/competition.ts). Each writes the JSON document the matching
 * `ctxrec eval --protocol … --json` writes, so `ctxrec report` reads them alike.
 */
import { writeJsonAtomic } from "../core/atomicFile.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import { evaluateLoo } from "../eval/loo.ts";
import { type EvalResult, writeEvalJson } from "../eval/result.ts";
import {
  evaluateStaleContext,
  type StaleContextResult,
  type StaleSetting,
  writeStaleJson,
} from "../eval/staleContext.ts";
import { competitionDocument, runCompetitionFunnel } from "../funnel/competition.ts";
import type { LoadedCg } from "../funnel/competitors.ts";
import {
  type FunnelSurfaces,
  MODEL_CG,
  type ModelPair,
  modelFunnelDocument,
  runModelFunnel,
} from "../funnel/modelFunnel.ts";
import { createModelScorer } from "../model/scorer.ts";
import type { World } from "../synth/types.ts";
import { trainedContextEncoder } from "../train/contextEncoder.ts";
import { acrossPasses, type StageProgress } from "./stages.ts";

/** Test-target `loo` of both models (the contextual one scored with NO context, as `ctxrec eval` does). */
export async function evaluateLooPair(
  ds: CompiledDataset,
  pair: ModelPair,
  files: { contextual: string; baseline: string },
  progress: StageProgress = () => {},
): Promise<{ contextual: EvalResult; baseline: EvalResult }> {
  const U = countLooUsers(ds);
  const contextual = await evaluateLoo(ds, createModelScorer(pair.contextual.model, MODEL_CG.contextual), {
    onProgress: (done) => progress(done, 2 * U),
  });
  const baseline = await evaluateLoo(ds, createModelScorer(pair.baseline.model, MODEL_CG.baseline), {
    onProgress: (done) => progress(U + done, 2 * U),
  });
  writeEvalJson(files.contextual, contextual);
  writeEvalJson(files.baseline, baseline);
  return { contextual, baseline };
}

/** Users with ≥ 3 events: those `loo` scores (for the progress total). */
function countLooUsers(ds: CompiledDataset): number {
  let n = 0;
  for (let u = 0; u + 1 < ds.offsets.length; u++) if (ds.offsets[u + 1] - ds.offsets[u] >= 3) n++;
  return Math.max(1, n);
}

/** `stale-context` over `settings` (first = the primary figure), written to `file`. */
export async function evaluateStalePair(
  ds: CompiledDataset,
  pair: ModelPair,
  settings: readonly StaleSetting[],
  file: string,
  progress: StageProgress = () => {},
): Promise<StaleContextResult> {
  const result = await evaluateStaleContext(
    ds,
    {
      baseline: createModelScorer(pair.baseline.model, MODEL_CG.baseline),
      contextual: createModelScorer(pair.contextual.model, MODEL_CG.contextual, {
        context: trainedContextEncoder(pair.contextual.contextK),
      }),
    },
    { settings, onProgress: progress },
  );
  writeStaleJson(file, result);
  return result;
}

/**
 * The funnel on `world` (both surfaces when it has Search) with the reference CGs and both models;
 * writes the document `ctxrec eval --protocol funnel --json` writes (`worldName`: the folder it
 * names, when the world is read from a staging folder that will be renamed).
 */
export async function evaluateFunnelPair(
  world: World,
  ds: CompiledDataset,
  pair: ModelPair,
  seed: number,
  file: string,
  progress: StageProgress = () => {},
  worldName = world.dir,
): Promise<FunnelSurfaces> {
  const reports = await runModelFunnel(world, ds, pair, { seed, onProgress: acrossPasses(progress) });
  const doc = modelFunnelDocument(reports, worldName, {
    contextual: pair.contextual.version ?? MODEL_CG.contextual,
    baseline: pair.baseline.version ?? MODEL_CG.baseline,
  });
  writeJsonAtomic(file, doc);
  return doc.surfaces;
}

/**
 * The competition funnel (src/funnel/competition.ts): the contextual model ("ctxrec") against the
 * loaded competitors, only their pools, on every surface of `world`; writes the document
 * `ctxrec eval --protocol funnel --cg … --json` writes and returns it.
 */
export async function evaluateCompetition(
  world: World,
  ds: CompiledDataset,
  contextual: ModelPair["contextual"],
  rivals: readonly LoadedCg[],
  seed: number,
  file: string,
  progress: StageProgress = () => {},
  worldName = world.dir,
): Promise<ReturnType<typeof competitionDocument>> {
  const reports = await runCompetitionFunnel(
    world,
    ds,
    [{ name: MODEL_CG.contextual, ...contextual }, ...rivals.map((r) => r.spec)],
    { seed, onProgress: acrossPasses(progress) },
  );
  const doc = competitionDocument(reports, worldName, {
    [MODEL_CG.contextual]: { version: contextual.version, contextual: true },
    ...Object.fromEntries(
      rivals.map((r) => [r.spec.name, { dir: r.dir, version: r.version, contextual: r.contextual }]),
    ),
  });
  writeJsonAtomic(file, doc);
  return doc;
}
