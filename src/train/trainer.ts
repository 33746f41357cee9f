/**
 * The training loop (DESIGN §3): SASRec-style sequence-to-sequence training with dynamic padding
 * (examples.ts), pseudo-context per position from its positive (context.ts, with whole-context
 * dropout), the sampled softmax with mixed in-batch + uniform negatives and logQ correction
 * (loss.ts), dense weights on tf.train.adam and the id table on LazyAdam (the engine's
 * `trainStep`), early stopping on validation NDCG@10 under `loo`, a wall-clock budget. All
 * randomness comes from one seed: same seed ⇒ same weights.
 * Shapes: B rows, Lb padded length, P = B·Lb slots, R real positions, U unique items, d width.
 */
import os from "node:os";
import * as tf from "@tensorflow/tfjs-core";
import { deriveSeed, Rng } from "../core/rng.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import { DEMOGRAPHIC_FIELDS } from "../data/schema.ts";
import { leaveOneOut } from "../data/splits.ts";
import { LazyAdam, selectRows } from "../engine/sparseEmbedding.ts";
import { trainStep } from "../engine/trainStep.ts";
import { evaluateLoo } from "../eval/loo.ts";
import type { EvalResult } from "../eval/result.ts";
import type { ModelConfig } from "../model/config.ts";
import { itemFeaturesOf } from "../model/itemFeatures.ts";
import { stopGradient } from "../model/layers.ts";
import {
  type CtxrecModel,
  createModel,
  fuseStates,
  itemReps,
  modelVariables,
  type RowContext,
  sequenceStates,
} from "../model/model.ts";
import { createModelScorer, noContext } from "../model/scorer.ts";
import { sequenceBatch } from "../model/sequences.ts";
import { vocabSizesOf } from "../model/vocabSizes.ts";
import { pseudoContext } from "./context.ts";
import { lengthBucketedBatches, positiveFrequency, type TrainingRows, trainingRows } from "./examples.ts";
import { sampledSoftmaxLoss } from "./loss.ts";
import { inBatchCandidates, mixCandidates, sampleUniformIds, uniformCandidates } from "./lossCandidates.ts";
import { fullSoftmaxLoss } from "./lossFull.ts";
import { type LossMode, maxBatchPositions, resolveLossMode } from "./lossMode.ts";
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
}

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

/** Everything one step needs, built on the host (no tensors). */
interface StepInput {
  seq: ReturnType<typeof sequenceBatch>;
  /** [U] unique items of the step (history ∪ positives ∪ uniform negatives). */
  unique: Int32Array;
  /** [P] index into unique of each history slot. */
  histLocal: Int32Array;
  /** [R] slot index of each real position. */
  real: Int32Array;
  /** [R] positive item of each real position. */
  positives: Int32Array;
  /** [R] index into unique of each positive. */
  posLocal: Int32Array;
  /** [M_b] real-position indices (into positives) whose positives serve as in-batch negatives. */
  negRows: Int32Array;
  uniformIds: Int32Array;
  uniformLocal: Int32Array;
  context?: RowContext;
}

/** Host-side preparation of a batch of rows (inputs = events start..end−2, positives = start+1..end−1). */
function prepareStep(
  m: CtxrecModel,
  ds: CompiledDataset,
  rows: TrainingRows,
  batch: Int32Array,
  args: TrainArgs,
  mode: LossMode,
  rng: Rng,
): StepInput {
  const B = batch.length;
  const starts = Int32Array.from(batch, (r) => rows.starts[r]);
  const inputEnds = Int32Array.from(batch, (r) => rows.ends[r] - 1);
  const firsts = Int32Array.from(batch, (r) => rows.firsts[r]);
  const seq = sequenceBatch(ds, starts, inputEnds, firsts, m.config.encoder.maxLen);
  const P = B * seq.len;
  const targets = new Int32Array(P); // 0 for padding slots
  let R = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < seq.lengths[b]; t++) targets[b * seq.len + t] = ds.items[starts[b] + t + 1];
    R += seq.lengths[b];
  }
  const real = new Int32Array(R);
  for (let j = 0, o = 0; j < P; j++) if (seq.mask[j] > 0) real[o++] = j;
  const positives = Int32Array.from(real, (j) => targets[j]);
  const context = m.context === undefined ? undefined : stepContext(ds, rows, batch, seq, targets, args, rng);
  if (mode === "full") {
    // Every item is a candidate: the step looks up the whole table, so unique ids are the ids.
    const none = new Int32Array(0);
    return {
      seq,
      unique: Int32Array.from({ length: ds.itemVocab.size }, (_, i) => i),
      histLocal: seq.items,
      real,
      positives,
      posLocal: positives,
      negRows: none,
      uniformIds: none,
      uniformLocal: none,
      context,
    };
  }
  // A seeded subset of the positions when there are more than the cap (partial Fisher–Yates).
  const order = Int32Array.from({ length: R }, (_, i) => i);
  const nNeg = Math.min(R, args.inBatchNegatives);
  for (let i = 0; i < nNeg && nNeg < R; i++) {
    const j = i + rng.int(R - i);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  const negRows = order.slice(0, nNeg);
  const uniformIds = sampleUniformIds(args.uniformNegatives, ds.itemVocab.size, rng);
  const all = new Int32Array(P + R + uniformIds.length);
  all.set(seq.items, 0);
  all.set(positives, P);
  all.set(uniformIds, P + R);
  const sel = selectRows(all, ds.itemVocab.size, "step items");
  const out: StepInput = {
    seq,
    unique: sel.rows,
    histLocal: sel.local.subarray(0, P),
    real,
    positives,
    posLocal: sel.local.subarray(P, P + R),
    negRows,
    uniformIds,
    uniformLocal: sel.local.subarray(P + R),
  };
  if (context !== undefined) out.context = context;
  return out;
}

/**
 * Pseudo-context of every slot from ITS positive (padding slots: item 0, no categories), and the
 * demographic codes of each slot's user.
 */
function stepContext(
  ds: CompiledDataset,
  rows: TrainingRows,
  batch: Int32Array,
  seq: StepInput["seq"],
  targets: Int32Array,
  args: TrainArgs,
  rng: Rng,
): RowContext {
  const P = targets.length;
  const input = pseudoContext(targets, ds, args.pseudoContext, rng);
  const demographics: Record<string, Int32Array> = {};
  for (const f of DEMOGRAPHIC_FIELDS) {
    const codes = ds.demographics[f].codes;
    demographics[f] = Int32Array.from(
      { length: P },
      (_, j) => codes[rows.users[batch[Math.floor(j / seq.len)]]],
    );
  }
  return { input, demographics };
}

/**
 * The per-example retrieval loss of a step: `lossOf(u, isolated)` for the fused states u [R, d] of
 * the real positions; `isolated` stops the gradient into the item embeddings (scope "context").
 */
type ExampleLoss = (u: tf.Tensor2D, isolated: boolean) => tf.Scalar;

/** The full softmax over every item: `reps` [N, d] holds the whole catalogue (row = item id). */
function fullLoss(s: StepInput, reps: tf.Tensor2D, args: TrainArgs): ExampleLoss {
  return (u, isolated) =>
    fullSoftmaxLoss({
      u,
      positiveIds: s.positives,
      itemEmbeddings: reps,
      temperature: args.temperature,
      itemGradient: !isolated,
    });
}

/** The sampled softmax over the step's in-batch and uniform negatives, logQ-corrected. */
function sampledLoss(
  m: CtxrecModel,
  s: StepInput,
  reps: tf.Tensor2D,
  freq: Float64Array,
  total: number,
  args: TrainArgs,
): ExampleLoss {
  const posEmb = tf.gather(reps, tf.tensor1d(s.posLocal, "int32")) as tf.Tensor2D;
  const negIds = Int32Array.from(s.negRows, (r) => s.positives[r]);
  const negEmb =
    s.negRows.length === s.positives.length
      ? posEmb
      : (tf.gather(posEmb, tf.tensor1d(s.negRows, "int32")) as tf.Tensor2D);
  let candidates = inBatchCandidates(negIds, negEmb, freq, total);
  if (s.uniformIds.length > 0) {
    const uni = tf.gather(reps, tf.tensor1d(s.uniformLocal, "int32")) as tf.Tensor2D;
    candidates = mixCandidates(candidates, uniformCandidates(s.uniformIds, uni, m.sizes.items));
  }
  return (u, isolated) =>
    sampledSoftmaxLoss({
      u,
      positiveIds: s.positives,
      positiveEmbeddings: isolated ? stopGradient(posEmb) : posEmb,
      candidates: isolated ? { ...candidates, embeddings: stopGradient(candidates.embeddings) } : candidates,
      temperature: args.temperature,
    });
}

/** The scalar loss of one prepared step given the id rows of `unique` [U, d]. */
function stepLoss(
  m: CtxrecModel,
  s: StepInput,
  idRows: tf.Tensor2D,
  freq: Float64Array,
  total: number,
  args: TrainArgs,
  mode: LossMode,
  rng: Rng,
): tf.Scalar {
  const reps = itemReps(m, s.unique, idRows);
  const h = sequenceStates(m, s.seq, reps, s.histLocal, rng);
  const exampleLoss = mode === "full" ? fullLoss(s, reps, args) : sampledLoss(m, s, reps, freq, total, args);
  const real = tf.tensor1d(s.real, "int32");
  const w = args.noContextWeight;
  const lossOf = (ctx: StepInput["context"], isolated: boolean) =>
    exampleLoss(
      tf.gather(fuseStates(m, isolated ? stopGradient(h) : h, ctx, rng, isolated), real) as tf.Tensor2D,
      isolated,
    );
  if (s.context === undefined || w === 0) return lossOf(s.context, false);
  // Scope "context": the with-context loss reaches the context layer and the head's context rows
  // only; the encoder, the item tower and the shared head learn from the no-context loss.
  const withContext = lossOf(s.context, args.contextLossScope === "context");
  // The same encoding fused once more with NO context: every example also trains the path a
  // request without a subject item takes (loo, cold context), so the history is never left idle.
  const P = s.seq.B * s.seq.len;
  const without = lossOf({ input: noContext(P), demographics: s.context.demographics }, false);
  return tf.div(tf.add(withContext, tf.mul(without, w)), 1 + w) as tf.Scalar;
}

/** A training step over one batch of rows (what the loop calls; exposed for the leak test). */
export interface Stepper {
  rows: TrainingRows;
  /** The loss this run trains with ("auto" resolved by the catalogue size). */
  lossMode: LossMode;
  /** Most real positions per batch (the full softmax bounds its logits; Infinity otherwise). */
  maxBatchPositions: number;
  /** Runs forward, backward and both optimizers on the rows `batch` (indices into `rows`). */
  step(batch: Int32Array): { loss: number; examples: number };
  /** Frees the dense optimizer's slots. */
  dispose(): void;
}

/** The step function of the loop, with its optimizers and seeded step randomness. */
export function createStepper(m: CtxrecModel, ds: CompiledDataset, args: TrainArgs): Stepper {
  const rows = trainingRows(ds, leaveOneOut(ds.offsets), m.config.encoder.maxLen);
  const freq = positiveFrequency(ds, rows);
  const total = Math.max(1, rows.positives);
  const variables = modelVariables(m);
  const optimizer = tf.train.adam(args.learningRate, 0.9, args.adamBeta2);
  const sparseOpt = new LazyAdam(m.item.ids, { learningRate: args.learningRate, beta2: args.adamBeta2 });
  const stepRng = new Rng(deriveSeed(args.seed, "steps"));
  const lossMode = resolveLossMode(args.loss, ds.itemVocab.size);
  return {
    rows,
    lossMode,
    maxBatchPositions: maxBatchPositions(lossMode, ds.itemVocab.size, m.config.encoder.maxLen),
    step(batch) {
      const s = prepareStep(m, ds, rows, batch, args, lossMode, stepRng);
      const r = trainStep({
        variables,
        optimizer,
        sparse: [{ table: m.item.ids, optimizer: sparseOpt, ids: [s.unique] }],
        loss: ([[idRows]]) => stepLoss(m, s, idRows, freq, total, args, lossMode, stepRng),
      });
      return { loss: r.loss, examples: s.real.length };
    },
    dispose: () => optimizer.dispose(),
  };
}

/** Host copies of every weight (dense variables and the id table), for keeping the best epoch. */
interface Snapshot {
  dense: Float32Array[];
  table: Float32Array;
}

function snapshot(m: CtxrecModel): Snapshot {
  return {
    dense: modelVariables(m).map((v) => Float32Array.from(v.dataSync() as Float32Array)),
    table: Float32Array.from(m.item.ids.values),
  };
}

function restore(m: CtxrecModel, s: Snapshot): void {
  modelVariables(m).forEach((v, i) => {
    tf.tidy(() => v.assign(tf.tensor(s.dense[i], v.shape)));
  });
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
  const stepper = createStepper(m, ds, args);
  const rows = stepper.rows;
  const batchRng = new Rng(deriveSeed(args.seed, "batches"));
  const history: ValidationPoint[] = [];
  let best: { epoch: number; ndcg: number; snap: Snapshot; result: EvalResult } | undefined;
  let sinceBest = 0;
  let stopReason: TrainResult["stopReason"] = "epochs";
  let examples = 0;
  let epoch = 0;
  const budgetSeconds = args.maxMinutes * 60;
  const validate = async (trainLoss: number) => {
    const result = await evaluateLoo(ds, createModelScorer(m, "validation"), { target: "validation" });
    const point: ValidationPoint = {
      epoch,
      ndcg10: result.metrics["ndcg@10"] ?? 0,
      hit10: result.metrics["hit@10"] ?? 0,
      trainLoss,
      elapsedSeconds: elapsed(),
    };
    history.push(point);
    hooks.onValidation?.(point);
    if (best === undefined || point.ndcg10 > best.ndcg) {
      best = { epoch, ndcg: point.ndcg10, snap: snapshot(m), result };
      sinceBest = 0;
    } else sinceBest++;
  };
  try {
    outer: for (epoch = 1; epoch <= args.epochs; epoch++) {
      const batches = lengthBucketedBatches(rows, args.batchSize, batchRng, stepper.maxBatchPositions);
      let lossSum = 0;
      for (let i = 0; i < batches.length; i++) {
        const r = stepper.step(batches[i]);
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
  } finally {
    stepper.dispose();
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
