/**
 * The funnel with trained models beside the reference CGs: the contextual model ("ctxrec") and the
 * non-contextual baseline ("ctxrec-baseline") as model CGs (`modelGenerator.ts`), on one world and
 * one or both surfaces, plus the lift of the contextual model over the baseline (the original
 * system's claims: recall 3–10×, median relevance +275%, 2× delivered).
 */
import { CtxrecError } from "../core/errors.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import type { CtxrecModel } from "../model/model.ts";
import { readWorldEvents } from "../synth/read.ts";
import type { World } from "../synth/types.ts";
import { compileCatalog } from "./catalog.ts";
import { ratio } from "./interval.ts";
import { modelCandidateGenerator } from "./modelGenerator.ts";
import { countEvents } from "./reference/popularity.ts";
import {
  type ReferenceFunnelArgs,
  type ReferenceFunnelReport,
  runReferenceFunnel,
} from "./referenceFunnel.ts";
import { type CgMetricsJson, funnelMetricsJson, funnelRunSettings } from "./report.ts";
import { defaultSurfaces, type Surface } from "./surface.ts";

/** CG names of the two models in every report. */
export const MODEL_CG = { contextual: "ctxrec", baseline: "ctxrec-baseline" } as const;

/** The two models of a comparison. */
export interface ModelPair {
  /** The contextual model and the pseudo-context k it was trained with (its context rule). */
  contextual: { model: CtxrecModel; contextK: number; version?: string };
  /** The same model without a context layer (`--no-context`). */
  baseline: { model: CtxrecModel; version?: string };
}

/** Lift of the contextual model over the baseline in one run (null where the base is 0). */
export interface ModelLift {
  recall_ratio: number | null;
  relevance_lift_pct: number | null;
  /**
   * Lift of the mean relevance. The original claims a median lift, but when most candidates of
   * both models share no category with the subject both medians are 0 and that lift is undefined;
   * the mean still shows how far the context pulls the candidates toward the subject.
   */
  relevance_mean_lift_pct: number | null;
  delivered_ratio: number | null;
}

export const LIFT_KEYS = [
  "recall_ratio",
  "relevance_lift_pct",
  "relevance_mean_lift_pct",
  "delivered_ratio",
] as const;

/** Contextual vs baseline in a report that holds both model CGs. */
export function modelLift(report: ReferenceFunnelReport): ModelLift {
  const get = (name: string) => {
    const m = report.metrics.find((x) => x.name === name);
    if (m === undefined) {
      throw new CtxrecError("CTXREC_ERR_ARG", `the report has no CG '${name}'`, { param: "report.metrics" });
    }
    return m;
  };
  const c = get(MODEL_CG.contextual);
  const b = get(MODEL_CG.baseline);
  const pct = (x: number | null) => (x === null ? null : (x - 1) * 100);
  return {
    recall_ratio: ratio(c.recallAtK, b.recallAtK),
    relevance_lift_pct: pct(ratio(c.relevanceMedian, b.relevanceMedian)),
    relevance_mean_lift_pct: pct(ratio(c.relevanceMean, b.relevanceMean)),
    delivered_ratio: ratio(c.deliveredShare, b.deliveredShare),
  };
}

export interface ModelFunnelArgs extends Omit<ReferenceFunnelArgs, "extraGenerators" | "surface"> {
  /** Surfaces to simulate. Default: Related-Items, and Search when the world has it. */
  surfaces?: readonly Surface[];
}

/**
 * Runs the funnel on `world` with the reference CGs and the two model CGs, per surface.
 * `ds` is the world's compiled logs the models were trained on (histories and item codes).
 */
export async function runModelFunnel(
  world: World,
  ds: CompiledDataset,
  pair: ModelPair,
  args: ModelFunnelArgs = {},
): Promise<Partial<Record<Surface, ReferenceFunnelReport>>> {
  if (pair.contextual.model.context === undefined) {
    throw new CtxrecError("CTXREC_ERR_ARG", "the contextual model has no context layer", {
      param: "pair.contextual",
    });
  }
  if (pair.baseline.model.context !== undefined) {
    throw new CtxrecError("CTXREC_ERR_ARG", "the baseline has a context layer; train it with --no-context", {
      param: "pair.baseline",
    });
  }
  const cat = compileCatalog(world);
  const eventCounts = args.eventCounts ?? (await countEvents(readWorldEvents(world.dir)));
  const cgs = [
    modelCandidateGenerator({ name: MODEL_CG.contextual, ...pair.contextual }, ds, cat),
    modelCandidateGenerator({ name: MODEL_CG.baseline, ...pair.baseline }, ds, cat),
  ];
  const surfaces = args.surfaces ?? defaultSurfaces(world);
  const out: Partial<Record<Surface, ReferenceFunnelReport>> = {};
  for (const surface of surfaces) {
    out[surface] = await runReferenceFunnel(world, { ...args, eventCounts, extraGenerators: cgs, surface });
  }
  return out;
}

/** Per surface: the funnel metrics of every CG and the contextual model's lift over the baseline. */
export type FunnelSurfaces = Record<
  string,
  { requests: number; impressions: number; metrics: Record<string, CgMetricsJson>; lift: ModelLift }
>;

/**
 * The document `ctxrec eval --protocol funnel --json` (and the pipeline's funnel stage) writes for
 * `runModelFunnel`'s `reports`: the run's settings (from the first surface), the models' names
 * (`models`, e.g. name@version) and the per-surface summaries. `world` is the folder it names.
 */
export function modelFunnelDocument(
  reports: Partial<Record<Surface, ReferenceFunnelReport>>,
  world: string,
  models: { contextual: string; baseline: string },
) {
  const surfaces: FunnelSurfaces = {};
  for (const [surface, report] of Object.entries(reports)) {
    surfaces[surface] = {
      requests: report.requests,
      impressions: report.impressions,
      metrics: funnelMetricsJson(report),
      lift: modelLift(report),
    };
  }
  return {
    protocol: "funnel",
    world,
    ...funnelRunSettings(reports),
    models: { [MODEL_CG.contextual]: models.contextual, [MODEL_CG.baseline]: models.baseline },
    surfaces,
  };
}
