/**
 * One cell of the ablation bench: train one configuration on one seed's world and rank the
 * evaluated users' targets: `loo` test targets with NO context (per-user filtered ranks) and the
 * `stale-context` contextual figure (stale state + the event before the target as context) at each
 * requested cut-off. Ranks are kept, not metrics, so any @K can be derived later and runs can be
 * cached; they are clamped to 255 (a rank ≥ 255 scores 0 at every K the bench reports).
 */
import type { CompiledDataset } from "../data/dataset.ts";
import { rankLoo } from "../eval/loo.ts";
import { hitAt, ndcgAt } from "../eval/metrics.ts";
import type { RetrievalScorer } from "../eval/scorer.ts";
import { rankStaleContext } from "../eval/staleContext.ts";
import { resolveModelConfig } from "../model/config.ts";
import type { CtxrecModel } from "../model/model.ts";
import { createModelScorer } from "../model/scorer.ts";
import { trainedContextEncoder } from "../train/contextEncoder.ts";
import { resolveTrainArgs } from "../train/trainArgs.ts";
import { train } from "../train/trainer.ts";
import type { AblationTraining } from "./ablationRows.ts";
import type { AblationConfig } from "./ablationVariants.ts";

/** Largest rank kept (Uint8 storage). */
export const RANK_CAP = 255;

/** What one (configuration, seed) produced: its training summary and its ranks. */
export interface AblationRanks extends AblationTraining {
  /** [U] loo filtered ranks, clamped to RANK_CAP. */
  loo: Uint8Array;
  /** Cut-off seconds → [U'] stale-context filtered ranks of this model's figure, clamped. */
  stale: Record<string, Uint8Array>;
}

/** Budget of one training run. */
export interface AblationBudget {
  maxMinutes: number;
  epochs: number;
}

const clamp = (r: Int32Array) => Uint8Array.from(r, (x) => Math.min(RANK_CAP, x));

/** Trains `config`, returns the model and its training summary. */
export async function trainConfig(
  ds: CompiledDataset,
  config: AblationConfig,
  seed: number,
  budget: AblationBudget,
): Promise<{ model: CtxrecModel; contextK: number; summary: Omit<AblationTraining, "key"> }> {
  const modelConfig = resolveModelConfig({
    ...config.model,
    context: { ...config.model?.context, enabled: config.contextual },
  });
  const args = resolveTrainArgs({
    ...config.train,
    seed,
    maxMinutes: budget.maxMinutes,
    epochs: budget.epochs,
  });
  const r = await train(ds, modelConfig, args);
  return {
    model: r.model,
    contextK: args.pseudoContext.k,
    summary: {
      seed,
      epochs: r.epochs,
      bestEpoch: r.bestEpoch,
      stopReason: r.stopReason,
      trainMinutes: r.trainSeconds / 60,
    },
  };
}

/**
 * Ranks for one trained model. `baseline` is the seed's `--no-context` scorer (stale-context
 * compares against it; its own passes are the figure when `model` IS the baseline).
 */
export async function rankModel(
  ds: CompiledDataset,
  model: CtxrecModel,
  contextK: number,
  baseline: RetrievalScorer,
  cutoffs: readonly number[],
): Promise<Pick<AblationRanks, "loo" | "stale">> {
  const isBaseline = model.context === undefined;
  const plain = createModelScorer(model, "ablation");
  const loo = await rankLoo(ds, plain);
  const contextual = isBaseline
    ? plain
    : createModelScorer(model, "ablation", { context: trainedContextEncoder(contextK) });
  const ranked = await rankStaleContext(
    ds,
    { baseline, contextual },
    { settings: cutoffs.map((seconds) => ({ kind: "cutoff", seconds })) },
  );
  const stale: Record<string, Uint8Array> = {};
  ranked.forEach(({ selection, ranks }) => {
    if (selection.setting.kind !== "cutoff") return;
    stale[String(selection.setting.seconds)] = clamp(isBaseline ? ranks.baseline : ranks.contextual);
  });
  return { loo: clamp(loo.filtered), stale };
}

/** Trains and ranks one configuration; the caller owns (and disposes) the returned model. */
export async function runAblationCell(
  ds: CompiledDataset,
  key: string,
  config: AblationConfig,
  seed: number,
  budget: AblationBudget,
  baseline: RetrievalScorer | undefined,
  cutoffs: readonly number[],
): Promise<{ ranks: AblationRanks; model: CtxrecModel }> {
  const t = await trainConfig(ds, config, seed, budget);
  const scorerOfBaseline = baseline ?? createModelScorer(t.model, "baseline");
  const r = await rankModel(ds, t.model, t.contextK, scorerOfBaseline, cutoffs);
  return { ranks: { key, ...t.summary, ...r }, model: t.model };
}

/** Per-user HIT@k / NDCG@k of clamped ranks. */
export function perUser(ranks: Uint8Array, metric: "hit" | "ndcg", k: number): Float64Array {
  return Float64Array.from(ranks, (r) => (metric === "hit" ? hitAt(r, k) : ndcgAt(r, k)));
}
