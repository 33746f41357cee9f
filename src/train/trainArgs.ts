/**
 * Typed arguments of the trainer, with the documented defaults (docs/training.md) and validation
 * at the edge. Model architecture lives in `ModelConfig` (src/model/config.ts); this is the loop.
 */
import { requireArg } from "../core/errors.ts";

export interface TrainArgs {
  /** Seed of every random choice (init, batches, dropout, negatives, pseudo-context). Default 42. */
  seed: number;
  /** Maximum epochs (default 200; early stopping or the time budget usually ends training first). */
  epochs: number;
  /** Wall-clock budget in minutes; training stops at the first step past it (default 25). */
  maxMinutes: number;
  /** Users (sequences) per batch (default 256). */
  batchSize: number;
  /** Adam learning rate for the dense weights and the lazy-Adam id table (default 1e-3). */
  learningRate: number;
  /** Uniformly sampled extra negatives per batch, mixed with the in-batch ones (default 2048). */
  uniformNegatives: number;
  /** Softmax temperature (default 1 with unnormalised embeddings; ~0.07 with l2Normalize). */
  temperature: number;
  /** Evaluate validation NDCG@10 every this many epochs (default 2). */
  evalEvery: number;
  /** Stop after this many evaluations without improvement (default 4). */
  patience: number;
  /** Pseudo-context corruption and whole-context dropout (see src/train/context.ts). */
  pseudoContext: {
    k: number;
    dropCategory: number;
    jitter: number;
    swapRelated: number;
    wholeContextDropout: number;
  };
}

export const TRAIN_DEFAULTS: TrainArgs = {
  seed: 42,
  epochs: 200,
  maxMinutes: 25,
  batchSize: 256,
  learningRate: 1e-3,
  uniformNegatives: 2048,
  temperature: 1,
  evalEvery: 2,
  patience: 4,
  pseudoContext: { k: 4, dropCategory: 0.2, jitter: 0.2, swapRelated: 0.1, wholeContextDropout: 0.3 },
};

export type TrainArgsOverrides = Partial<Omit<TrainArgs, "pseudoContext">> & {
  pseudoContext?: Partial<TrainArgs["pseudoContext"]>;
};

const posInt = (x: number) => Number.isInteger(x) && x >= 1;

/** Defaults + overrides, validated (CTXREC_ERR_ARG naming the field and the bad value). */
export function resolveTrainArgs(over: TrainArgsOverrides = {}): TrainArgs {
  const a: TrainArgs = {
    ...TRAIN_DEFAULTS,
    ...over,
    pseudoContext: { ...TRAIN_DEFAULTS.pseudoContext, ...over.pseudoContext },
  };
  requireArg(Number.isInteger(a.seed), "seed", `expected an integer, got ${a.seed}`);
  for (const k of ["epochs", "batchSize", "evalEvery", "patience"] as const) {
    requireArg(posInt(a[k]), k, `expected an integer ≥ 1, got ${a[k]}`);
  }
  requireArg(a.maxMinutes > 0, "maxMinutes", `expected minutes > 0, got ${a.maxMinutes}`);
  requireArg(a.learningRate > 0 && a.learningRate < 1, "learningRate", `expected a rate in (0, 1), got ${a.learningRate}`);
  requireArg(
    Number.isInteger(a.uniformNegatives) && a.uniformNegatives >= 0,
    "uniformNegatives",
    `expected an integer ≥ 0, got ${a.uniformNegatives}`,
  );
  requireArg(a.temperature > 0, "temperature", `expected τ > 0, got ${a.temperature}`);
  return a;
}
