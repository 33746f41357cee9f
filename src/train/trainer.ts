/**
 * The training loop (DESIGN §3): SASRec-style sequence-to-sequence training with dynamic padding
 * (examples.ts), pseudo-context per position from its positive (context.ts, with whole-context
 * dropout), the sampled softmax with mixed in-batch + uniform negatives and logQ correction
 * (loss.ts), all prepared and composed per step in step.ts; dense weights on tf.train.adam and the
 * id table on LazyAdam (the engine's `trainStep`), on this thread or data-parallel over
 * `args.threads` worker threads (parallelStepper.ts); early stopping on validation NDCG@10 under
 * `loo`, a wall-clock budget. All randomness comes from one seed: same seed (and thread count) ⇒
 * same weights.
 * Shapes: B rows, Lb padded length, P = B·Lb slots, R real positions, U unique items, d width.
 */
import os from "node:os";
import * as tf from "@tensorflow/tfjs-core";
import { deriveSeed, Rng } from "../core/rng.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import { LazyAdam } from "../engine/sparseEmbedding.ts";
import { setLearningRate, trainStep } from "../engine/trainStep.ts";
import { evaluateLoo } from "../eval/loo.ts";
import type { EvalResult } from "../eval/result.ts";
import type { ModelConfig } from "../model/config.ts";
import { itemFeaturesOf } from "../model/itemFeatures.ts";
import {
  assignDenseWeights,
  type CtxrecModel,
  createModel,
  denseWeights,
  modelVariables,
} from "../model/model.ts";
import { createModelScorer } from "../model/scorer.ts";
import { vocabSizesOf } from "../model/vocabSizes.ts";
import { epochBatches } from "./examples.ts";
import type { LossMode } from "./lossMode.ts";
import { PlateauDecay } from "./lrSchedule.ts";
import { type ParallelStepper, startParallelStepper } from "./parallelStepper.ts";
import { prepareStep, type StepOutcome, type StepperShape, stepLoss, stepSeed, stepSetup } from "./step.ts";
import type { TrainArgs } from "./trainArgs.ts";

/** Progress of the loop, for bars and logs. */
export interface TrainProgress {
  epoch: number;
  /** Batches done in this epoch / batches per epoch. */
  batch: number;
  batches: number;
  /** Running mean loss of the epoch. */
  loss: number;
  /** Positives (examples) per second since the start. */
  examplesPerSecond: number;
  elapsedSeconds: number;
}

/** One validation evaluation. */
export interface ValidationPoint {
  epoch: number;
  ndcg10: number;
  hit10: number;
  trainLoss: number;
  elapsedSeconds: number;
  /** The learning rate the epoch trained with. */
  learningRate: number;
}

/** The learning-rate decay never goes below this fraction of the starting rate. */
const LR_FLOOR = 1 / 16;

export interface TrainResult {
  model: CtxrecModel;
  /** Validation figures after each evaluation. */
  history: ValidationPoint[];
  /** The epoch whose weights were kept (best validation NDCG@10). */
  bestEpoch: number;
  /** Validation result of the kept weights. */
  validation: EvalResult | undefined;
  epochs: number;
  trainSeconds: number;
  /**
   * The machine's 1-minute load average when training started and ended: a wall-clock figure
   * means little on a 2-core machine without it.
   */
  loadAverage: { start: number; end: number };
  /** The loss it trained with ("auto" resolved; src/train/lossMode.ts). */
  lossMode: LossMode;
  /** Why training ended: "epochs" | "early-stopping" | "time-budget". */
  stopReason: "epochs" | "early-stopping" | "time-budget";
}

export interface TrainHooks {
  onProgress?: (p: TrainProgress) => void;
  onValidation?: (p: ValidationPoint) => void;
  /** Skip validation entirely (tests on data without validation targets). Default false. */
  skipValidation?: boolean;
}

/** A training step over one batch of rows on this thread (what the loop calls; exposed for the leak test). */
export interface Stepper extends StepperShape {
  /** Runs forward, backward and both optimizers on the rows `batch` (indices into `rows`). */
  step(batch: Int32Array): StepOutcome;
  /** The learning rate of both optimizers from the next step on. */
  setLearningRate(lr: number): void;
  /** Frees the dense optimizer's slots. */
  dispose(): void;
}

/** The step function of the loop, with its optimizers and seeded step randomness. */
export function createStepper(m: CtxrecModel, ds: CompiledDataset, args: TrainArgs): Stepper {
  const setup = stepSetup(m, ds, args);
  const variables = modelVariables(m);
  const optimizer = tf.train.adam(args.learningRate, 0.9, args.adamBeta2);
  const sparseOpt = new LazyAdam(m.item.ids, { learningRate: args.learningRate, beta2: args.adamBeta2 });
  const random = {
    seed: stepSeed(args),
    step: -1,
    negatives: new Rng(deriveSeed(args.seed, "steps/negatives")),
  };
  return {
    rows: setup.rows,
    lossMode: setup.mode,
    maxBatchPositions: setup.maxBatchPositions,
    step(batch) {
      random.step++;
      const s = prepareStep(setup, batch, random);
      const r = trainStep({
        variables,
        optimizer,
        sparse: [{ table: m.item.ids, optimizer: sparseOpt, ids: [s.unique] }],
        loss: ([[idRows]]) => stepLoss(setup, s, idRows),
      });
      return { loss: r.loss, examples: s.real.length };
    },
    setLearningRate: (lr) => setLearningRate(optimizer, [{ optimizer: sparseOpt }], lr),
    dispose: () => optimizer.dispose(),
  };
}

/** The loop's stepper: this thread's, or worker threads' (whose weights m sees only after `pull`). */
type LoopStepper = Stepper | ParallelStepper;

/** Host copies of every weight (dense variables and the id table), for keeping the best epoch. */
interface Snapshot {
  dense: Float32Array[];
  table: Float32Array;
}

function snapshot(m: CtxrecModel): Snapshot {
  return { dense: denseWeights(m), table: Float32Array.from(m.item.ids.values) };
}

function restore(m: CtxrecModel, s: Snapshot): void {
  assignDenseWeights(m, s.dense);
  m.item.ids.values.set(s.table);
}

/** Trains a model on the train part of the leave-one-out split of `ds`. */
export async function train(
  ds: CompiledDataset,
  config: ModelConfig,
  args: TrainArgs,
  hooks: TrainHooks = {},
): Promise<TrainResult> {
  const t0 = performance.now();
  const loadStart = os.loadavg()[0];
  const elapsed = () => (performance.now() - t0) / 1000;
  const m = createModel(config, vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(deriveSeed(args.seed, "init")));
  // With threads > 1 the workers update the id table in place (m's table is their shared buffer)
  // and their own dense copies, which `pull` copies into m.
  const stepper: LoopStepper =
    args.threads > 1 ? await startParallelStepper(m, ds, args) : createStepper(m, ds, args);
  const rows = stepper.rows;
  const batchRng = new Rng(deriveSeed(args.seed, "batches"));
  const history: ValidationPoint[] = [];
  let best: { epoch: number; ndcg: number; snap: Snapshot; result: EvalResult } | undefined;
  let sinceBest = 0;
  const decay = new PlateauDecay({
    base: args.learningRate,
    factor: args.lrDecay,
    patience: args.lrPatience,
    floor: LR_FLOOR,
  });
  let stopReason: TrainResult["stopReason"] = "epochs";
  let examples = 0;
  let epoch = 0;
  const budgetSeconds = args.maxMinutes * 60;
  const validate = async (trainLoss: number) => {
    if ("pull" in stepper) await stepper.pull();
    const result = await evaluateLoo(ds, createModelScorer(m, "validation"), { target: "validation" });
    const point: ValidationPoint = {
      epoch,
      ndcg10: result.metrics["ndcg@10"] ?? 0,
      hit10: result.metrics["hit@10"] ?? 0,
      trainLoss,
      elapsedSeconds: elapsed(),
      learningRate: decay.learningRate,
    };
    history.push(point);
    hooks.onValidation?.(point);
    const improved = best === undefined || point.ndcg10 > best.ndcg;
    if (improved) {
      best = { epoch, ndcg: point.ndcg10, snap: snapshot(m), result };
      sinceBest = 0;
    } else sinceBest++;
    const before = decay.learningRate;
    if (decay.observe(improved) !== before) stepper.setLearningRate(decay.learningRate);
  };
  try {
    outer: for (epoch = 1; epoch <= args.epochs; epoch++) {
      const batches = epochBatches(args.batching, rows, args.batchSize, batchRng, stepper.maxBatchPositions);
      let lossSum = 0;
      for (let i = 0; i < batches.length; i++) {
        const r = await stepper.step(batches[i]);
        lossSum += r.loss;
        examples += r.examples;
        hooks.onProgress?.({
          epoch,
          batch: i + 1,
          batches: batches.length,
          loss: lossSum / (i + 1),
          examplesPerSecond: examples / Math.max(1e-9, elapsed()),
          elapsedSeconds: elapsed(),
        });
        if (elapsed() > budgetSeconds) {
          stopReason = "time-budget";
          if (!hooks.skipValidation) await validate(lossSum / (i + 1));
          break outer;
        }
      }
      if (!hooks.skipValidation && (epoch % args.evalEvery === 0 || epoch === args.epochs)) {
        await validate(lossSum / batches.length);
        if (sinceBest >= args.patience) {
          stopReason = "early-stopping";
          break;
        }
      }
    }
    // The returned model holds the last weights when no validation picked an epoch.
    if ("pull" in stepper) await stepper.pull();
  } finally {
    await stepper.dispose();
  }
  const epochs = Math.min(epoch, args.epochs);
  const kept = best as { epoch: number; snap: Snapshot; result: EvalResult } | undefined;
  if (kept !== undefined) restore(m, kept.snap);
  return {
    model: m,
    history,
    bestEpoch: kept?.epoch ?? epochs,
    validation: kept?.result,
    epochs,
    trainSeconds: elapsed(),
    lossMode: stepper.lossMode,
    loadAverage: { start: loadStart, end: os.loadavg()[0] },
    stopReason,
  };
}
