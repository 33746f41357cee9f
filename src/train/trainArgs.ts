/**
 * Typed arguments of the trainer, with the documented defaults (docs/training.md) and validation
 * at the edge. Model architecture lives in `ModelConfig` (src/model/config.ts); this is the loop.
 */
import { requireArg, requireChoice } from "../core/errors.ts";
import { PSEUDO_CONTEXT_DEFAULTS, type PseudoContextArgs, resolvePseudoContextArgs } from "./context.ts";
import { BATCHINGS, type Batching, WINDOWS, type Windows } from "./examples.ts";
import { type LossChoice, resolveLossMode } from "./lossMode.ts";

/** TrainArgs.contextSource's choices. */
export const CONTEXT_SOURCES = ["positive", "stale-state"] as const;
export type ContextSource = (typeof CONTEXT_SOURCES)[number];

export interface TrainArgs {
  /** Seed of every random choice (init, batches, dropout, negatives, pseudo-context). Default 42. */
  seed: number;
  /** Maximum epochs (default 200; early stopping or the time budget usually ends training first). */
  epochs: number;
  /** Wall-clock budget in minutes; training stops at the first step past it (default 30: Beauty, the largest reference set, under the full softmax on 2 cores). */
  maxMinutes: number;
  /** Users (sequences) per batch (default 128). */
  batchSize: number;
  /**
   * How an epoch's rows are cut into batches (src/train/examples.ts): "positions" (default): rows of
   * similar length together, cut every ≈ batchSize rows' worth of real positions, so every position
   * weighs the same (Beauty validation NDCG@10 0.0710 against 0.0669 for "length"; ML-100K equal
   * over 3 seeds, docs/training.md "Batching"); "length": cut every batchSize rows; "shuffled": a
   * uniform random sample of users per batch, as SASRec's code and the PyTorch peer (more padding).
   */
  batching: Batching;
  /**
   * Which parts of a history become training rows (src/train/examples.ts): "last" (the newest
   * L + 1 events) or "all" (every window of L + 1 events, so no train event is wasted).
   */
  windows: Windows;
  /** Adam learning rate for the dense weights and the lazy-Adam id table (default 2e-3; 1e-3 converged ≈2× slower on Beauty). */
  learningRate: number;
  /**
   * Adam's β₂ for the dense weights and the id table (default 0.999, tf.train.adam's). SASRec's
   * code uses 0.98: a shorter memory of the squared gradients, which matters for rare items whose
   * rows get a gradient only now and then.
   */
  adamBeta2: number;
  /**
   * The retrieval loss: "full" (exact softmax over the whole catalogue), "sampled" (mixed in-batch +
   * uniform negatives with logQ correction) or "auto" (default): full when the catalogue has at most
   * 65,536 items, sampled above (the rule and its reasons: src/train/lossMode.ts).
   */
  loss: LossChoice;
  /**
   * At most this many of the batch's positives serve as in-batch negatives (a seeded random subset:
   * still draws from the positives' distribution, so the logQ formula holds with M_b = the subset
   * size). Bounds the [R, M] logits when R (real positions) is large, e.g. ML-100K's 12k. Default 2048.
   */
  inBatchNegatives: number;
  /** Uniformly sampled extra negatives per batch, mixed with the in-batch ones (default 1024). */
  uniformNegatives: number;
  /** Softmax temperature (default 1 with unnormalised embeddings; ~0.07 with l2Normalize). */
  temperature: number;
  /** Evaluate validation NDCG@10 every this many epochs (default 1: the full softmax converges in few epochs, and a late peak must not be missed). */
  evalEvery: number;
  /**
   * Stop after this many evaluations without improvement (default 10: on ML-100K, seed 1, patience
   * 5 stopped at epoch 30 keeping validation NDCG@10 0.0987, while 10 went on to 0.1075 at epoch 38;
   * the validation curve under dropout 0.5 has plateaus longer than 5 epochs).
   */
  patience: number;
  /**
   * Learning-rate decay on a validation plateau (src/train/lrSchedule.ts): the rate is multiplied
   * by lrDecay after lrPatience evaluations without a new best, down to 1/16 of learningRate.
   * lrDecay 1 (default) keeps the rate constant: 0.5 after 3 won on neither reference set's
   * validation (Beauty kept the same epoch-12 peak; ML-100K's baseline fell from 0.1081 to 0.1008;
   * docs/training.md). Default lrPatience 3.
   */
  lrDecay: number;
  lrPatience: number;
  /**
   * Pseudo-context corruption and whole-context dropout: PSEUDO_CONTEXT_DEFAULTS (src/train/context.ts)
   * except wholeContextDropout 0: with the default no-context loss every example is already
   * trained without context once (see noContextWeight), so the with-context loss keeps its context.
   * (Without that loss, 0.5 was needed: with 0.2 the model leaned on the pseudo-context and its
   * no-context quality lagged far behind the baseline on Beauty; see docs/training.md.)
   */
  pseudoContext: Omit<PseudoContextArgs, "related">;
  /**
   * Weight w of a second loss on every example with NO context, sharing the example's encoding:
   * loss = (L_context + w·L_none) / (1 + w). 0 = off (whole-context dropout alone decides which
   * examples see no context). Contextual models only. Default 1 (with contextLossScope "context":
   * the no-context quality then follows the baseline epoch for epoch on Beauty; docs/training.md).
   */
  noContextWeight: number;
  /**
   * What the with-context loss may train when the no-context loss is on (noContextWeight > 0;
   * with 0 the one loss trains every weight). "all": every weight. "context" (default): the
   * context layer and the head's context rows only; the encoder, the item
   * tower and the rest of the head then learn from the no-context loss alone, as the baseline
   * does, so the pseudo-context (derived from the positive) cannot make the history lazy.
   */
  contextLossScope: "all" | "context";
  /**
   * What the with-context loss pairs with each position (contextual models; src/train/step.ts):
   * "positive" (default, DESIGN §3): the fresh state with a pseudo-context from the position's own
   * positive; "stale-state": the state of up to `maxStaleness` events earlier (s uniform in
   * 0..maxStaleness per position) with the real categories of the latest input item, the setting
   * of a request whose cached state is stale and whose subject is the user's latest item.
   */
  contextSource: ContextSource;
  /** Largest staleness (events) drawn under contextSource "stale-state" (default 4). */
  maxStaleness: number;
  /**
   * Multi-task training (src/train/multiTask.ts; issue #14): event types whose positives are
   * engagement examples, trained with `engagementWeight` (default 0.5) instead of 1 (default none:
   * every positive is a conversion). Names as in the data's event-type vocabulary.
   */
  engagementTypes: string[];
  engagementWeight: number;
  /** Weight of the advertiser-level loss (a softmax over advertisers; default 0 = off). */
  advertiserWeight: number;
  /**
   * Threads that train (default 1 here: this thread; `ctxrec train` defaults to the machine's
   * cores). More: data-parallel over that many worker threads (src/train/parallelStepper.ts), each
   * computing the gradients of its share of every batch. Dropout and pseudo-context are keyed by
   * row (model/rowDropout.ts), so under the full softmax the weights match one thread's up to float
   * rounding; the sampled softmax draws each worker's negatives from its own stream, so there the
   * same seed gives the same weights only for the same thread count.
   */
  threads: number;
}

export const TRAIN_DEFAULTS: TrainArgs = {
  seed: 42,
  epochs: 200,
  maxMinutes: 30,
  batchSize: 128,
  batching: "positions",
  windows: "last",
  learningRate: 2e-3,
  adamBeta2: 0.999,
  loss: "auto",
  inBatchNegatives: 2048,
  uniformNegatives: 1024,
  temperature: 1,
  evalEvery: 1,
  patience: 10,
  lrDecay: 1,
  lrPatience: 3,
  pseudoContext: { ...PSEUDO_CONTEXT_DEFAULTS, wholeContextDropout: 0 },
  noContextWeight: 1,
  contextLossScope: "context",
  contextSource: "positive",
  maxStaleness: 4,
  engagementTypes: [],
  engagementWeight: 0.5,
  advertiserWeight: 0,
  threads: 1,
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
  for (const k of [
    "epochs",
    "batchSize",
    "evalEvery",
    "patience",
    "inBatchNegatives",
    "threads",
    "lrPatience",
    "maxStaleness",
  ] as const) {
    requireArg(posInt(a[k]), k, `expected an integer ≥ 1, got ${a[k]}`);
  }
  requireChoice(a.batching, BATCHINGS, "batching");
  requireChoice(a.windows, WINDOWS, "windows");
  requireChoice(a.contextSource, CONTEXT_SOURCES, "contextSource");
  for (const k of ["engagementWeight", "advertiserWeight"] as const) {
    requireArg(Number.isFinite(a[k]) && a[k] >= 0, k, `expected a finite weight ≥ 0, got ${a[k]}`);
  }
  requireArg(
    Array.isArray(a.engagementTypes) && a.engagementTypes.every((t) => typeof t === "string" && t !== ""),
    "engagementTypes",
    "expected a list of event-type names",
  );
  requireArg(a.maxMinutes > 0, "maxMinutes", `expected minutes > 0, got ${a.maxMinutes}`);
  requireArg(
    a.learningRate > 0 && a.learningRate < 1,
    "learningRate",
    `expected a rate in (0, 1), got ${a.learningRate}`,
  );
  requireArg(a.lrDecay > 0 && a.lrDecay <= 1, "lrDecay", `expected a factor in (0, 1], got ${a.lrDecay}`);
  requireArg(a.adamBeta2 > 0 && a.adamBeta2 < 1, "adamBeta2", `expected β₂ in (0, 1), got ${a.adamBeta2}`);
  requireArg(
    Number.isInteger(a.uniformNegatives) && a.uniformNegatives >= 0,
    "uniformNegatives",
    `expected an integer ≥ 0, got ${a.uniformNegatives}`,
  );
  requireArg(
    Number.isFinite(a.noContextWeight) && a.noContextWeight >= 0,
    "noContextWeight",
    `expected a weight ≥ 0, got ${a.noContextWeight}`,
  );
  requireArg(
    a.contextLossScope === "all" || a.contextLossScope === "context",
    "contextLossScope",
    `expected "all" or "context", got ${a.contextLossScope}`,
  );
  resolveLossMode(a.loss, 2);
  requireArg(a.temperature > 0, "temperature", `expected τ > 0, got ${a.temperature}`);
  resolvePseudoContextArgs(a.pseudoContext);
  return a;
}
