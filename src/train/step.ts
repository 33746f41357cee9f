/**
 * One training step's host preparation and loss, shared by the single-thread stepper (trainer.ts)
 * and the data-parallel replica (parallelReplica.ts), which runs them on its share of a batch:
 * inputs and positives of each row (examples.ts), pseudo-context per position from its positive
 * (context.ts), and the retrieval loss, full softmax (lossFull.ts) or sampled with mixed in-batch +
 * uniform negatives (loss.ts), once with the context and once without (`stepLoss`).
 * Shapes: B rows, Lb padded length, P = B·Lb slots, R real positions, U unique items, N items, d width.
 */
import * as tf from "@tensorflow/tfjs-core";
import { CtxrecError } from "../core/errors.ts";
import { deriveSeed, Rng } from "../core/rng.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import { DEMOGRAPHIC_FIELDS } from "../data/schema.ts";
import { leaveOneOut } from "../data/splits.ts";
import { selectRows } from "../engine/sparseEmbedding.ts";
import { stopGradient } from "../model/layers.ts";
import {
  type CtxrecModel,
  fuseStates,
  itemReps,
  type RowContext,
  sequenceStates,
  subjectVectors,
} from "../model/model.ts";
import { RowDropout, rowKeys } from "../model/rowDropout.ts";
import { noContext } from "../model/scorer.ts";
import { sequenceBatch } from "../model/sequences.ts";
import { contextFromItems, pseudoContext } from "./context.ts";
import { type ContextBatch, emptyContextBatch } from "./contextBatch.ts";
import { positiveFrequency, type TrainingRows, trainingRows } from "./examples.ts";
import { sampledSoftmaxLoss } from "./loss.ts";
import { inBatchCandidates, mixCandidates, sampleUniformIds, uniformCandidates } from "./lossCandidates.ts";
import { fullSoftmaxRowLosses } from "./lossFull.ts";
import { type LossMode, maxBatchPositions, resolveLossMode } from "./lossMode.ts";
import {
  advertiserCentroids,
  advertiserLoss,
  advertiserTargets,
  retrievalWeights,
  type TaskSetup,
  taskSetup,
} from "./multiTask.ts";
import type { TrainArgs } from "./trainArgs.ts";

/** What every step of a run reads (host data, no tensors): built once per stepper or replica. */
export interface StepSetup {
  m: CtxrecModel;
  ds: CompiledDataset;
  /** The training rows; a batch is an array of indices into them. */
  rows: TrainingRows;
  args: TrainArgs;
  /** The loss this run trains with ("auto" resolved by the catalogue size). */
  mode: LossMode;
  /** Most real positions per batch (the full softmax bounds its logits; Infinity otherwise). */
  maxBatchPositions: number;
  /** [N] how often each item is a training positive (the in-batch sampler's f_i). */
  freq: Float64Array;
  /** Σ freq, at least 1. */
  total: number;
  /** The engagement auxiliary and the advertiser-level loss (multiTask.ts). */
  tasks: TaskSetup;
}

/**
 * The step set-up of training `m` on `ds`: `rows` default to the train part of the leave-one-out
 * split (a data-parallel worker receives the main thread's).
 */
export function stepSetup(
  m: CtxrecModel,
  ds: CompiledDataset,
  args: TrainArgs,
  rows: TrainingRows = trainingRows(ds, leaveOneOut(ds.offsets), m.config.encoder.maxLen, args.windows),
): StepSetup {
  const mode = resolveLossMode(args.loss, ds.itemVocab.size);
  const tasks = taskSetup(ds, args);
  if (m.config.context.subjectItem && (m.context === undefined || args.contextSource !== "stale-state")) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      "the subject item's id as context needs the context layer and --context-source stale-state: under the default source the context is derived from the positive, so its id would be the target itself",
      { param: "--subject-item" },
    );
  }
  if (tasks.advertisers !== undefined && mode !== "full") {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      "the advertiser-level loss needs the full softmax (its advertiser centroids read every item's embedding); use --loss full",
      { param: "--advertiser-weight" },
    );
  }
  return {
    tasks,
    m,
    ds,
    rows,
    args,
    mode,
    maxBatchPositions: maxBatchPositions(mode, ds.itemVocab.size, m.config.encoder.maxLen),
    freq: positiveFrequency(ds, rows),
    total: Math.max(1, rows.positives),
  };
}

/** Everything one step needs, built on the host (no tensors). */
export interface StepInput {
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
  /** [R] weight of each position in the retrieval losses (engagement auxiliary); undefined = all 1. */
  taskWeights?: Float32Array;
  /** The advertiser-level loss's targets of the real positions (labels [R], −1 = none; weights [R]). */
  advertiser?: { labels: Int32Array; weights: Float32Array };
  /** Under `contextSource` "stale-state": which state each slot's with-context loss reads. */
  stale?: StaleStates;
  /** [B] the rows' keys for this step (`rowKeys`): their dropout masks and pseudo-context. */
  keys: Int32Array;
}

/**
 * Stale-state context training: the with-context example of slot (b, t) fuses the state of slot
 * (b, t − s) with the categories of the item at input slot t, s drawn per slot in 0..maxStaleness,
 * and predicts t's positive, as a request does whose cached state is s events behind and whose
 * subject item is the user's latest event (the `stale-context` protocol's setting).
 */
export interface StaleStates {
  /** [P] flat slot index (b·Lb + t − s) whose state slot b·Lb + t reads; itself where t < s. */
  from: Int32Array;
  /** [R] weight of each real position in the with-context loss: 0 where t < s (no such state). */
  weights: Float32Array;
}

/**
 * A step's randomness. Dropout and pseudo-context are keyed by row (`keys`), so a row draws the
 * same whichever thread encodes it and whatever rows share its batch; only the sampled softmax's
 * negatives come from a stream (`negatives`), the thread's own.
 */
export interface StepRandom {
  /** The run's step seed (`stepSeed`) and the step's index in the run, from 0. */
  seed: number;
  step: number;
  negatives: Rng;
}

/** The seed every thread's `StepRandom` of a run starts from. */
export function stepSeed(args: Pick<TrainArgs, "seed">): number {
  return deriveSeed(args.seed, "steps");
}

/**
 * Host-side preparation of the rows `batch` (indices into `setup.rows`; inputs = events
 * start..end−2, positives = start+1..end−1). Pseudo-context by row key, negatives from
 * `random.negatives`.
 */
export function prepareStep(setup: StepSetup, batch: Int32Array, random: StepRandom): StepInput {
  const { m, ds, rows, args, mode } = setup;
  const B = batch.length;
  const keys = rowKeys(random.seed, random.step, batch);
  const rng = random.negatives;
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
  const tasks = taskInputs(setup, batch, seq.len, real, positives);
  const stale =
    m.context !== undefined && args.contextSource === "stale-state"
      ? staleStates(seq, real, keys, args.maxStaleness)
      : undefined;
  const context =
    m.context === undefined
      ? undefined
      : stepContext(ds, rows, batch, seq, stale === undefined ? targets : undefined, args, keys);
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
      ...(stale === undefined ? {} : { stale }),
      ...tasks,
      keys,
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
    keys,
  };
  if (context !== undefined) out.context = context;
  if (stale !== undefined) out.stale = stale;
  Object.assign(out, tasks);
  return out;
}

/**
 * The context of every slot and the demographic codes of each slot's user. With `targets`: the
 * pseudo-context from each slot's positive (padding slots: item 0, no categories), each row
 * corrupted by its own stream (seeded by its key: padding draws nothing, so a row's context does
 * not depend on Lb). Without (stale-state training): the real categories of the slot's input item,
 * uncorrupted, as a request's subject item.
 */
function stepContext(
  ds: CompiledDataset,
  rows: TrainingRows,
  batch: Int32Array,
  seq: StepInput["seq"],
  targets: Int32Array | undefined,
  args: TrainArgs,
  keys: Int32Array,
): RowContext {
  const P = seq.B * seq.len;
  const input =
    targets === undefined
      ? contextFromItems(seq.items, ds, args.pseudoContext.k)
      : rowwisePseudoContext(targets, seq.len, keys, ds, args);
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

/** The multi-task inputs of a step's real positions (slots `real` [R], `positives` [R]). */
function taskInputs(
  setup: StepSetup,
  batch: Int32Array,
  len: number,
  real: Int32Array,
  positives: Int32Array,
): Pick<StepInput, "taskWeights" | "advertiser"> {
  const { tasks, rows, ds } = setup;
  if (tasks.engagementTypes.size === 0 && tasks.advertisers === undefined) return {};
  // Slot (b, t) predicts event starts[b] + t + 1.
  const types = Int32Array.from(
    real,
    (j) => ds.types[rows.starts[batch[Math.floor(j / len)]] + (j % len) + 1],
  );
  const out: Pick<StepInput, "taskWeights" | "advertiser"> = {};
  const weights = retrievalWeights(types, tasks);
  if (weights !== undefined) out.taskWeights = weights;
  const advertiser = advertiserTargets(positives, types, tasks);
  if (advertiser !== undefined) out.advertiser = advertiser;
  return out;
}

/**
 * Each slot's staleness s in 0..maxStaleness, drawn from its row's own stream (by key, so the
 * draws do not depend on the thread or the rows sharing the batch), and the slot it reads.
 */
function staleStates(
  seq: StepInput["seq"],
  real: Int32Array,
  keys: Int32Array,
  maxStaleness: number,
): StaleStates {
  const { B, len } = seq;
  const from = Int32Array.from({ length: B * len }, (_, j) => j);
  const valid = new Uint8Array(B * len);
  for (let b = 0; b < B; b++) {
    const rng = new Rng(deriveSeed(keys[b], "staleness"));
    for (let t = 0; t < seq.lengths[b]; t++) {
      const s = rng.int(maxStaleness + 1);
      if (t < s) continue;
      from[b * len + t] = b * len + t - s;
      valid[b * len + t] = 1;
    }
  }
  return { from, weights: Float32Array.from(real, (j) => valid[j]) };
}

/** `pseudoContext` of each row's Lb slots of `targets` [B·Lb] with the row's own stream. */
function rowwisePseudoContext(
  targets: Int32Array,
  len: number,
  keys: Int32Array,
  ds: CompiledDataset,
  args: TrainArgs,
): ContextBatch {
  const parts = Array.from(keys, (key, b) =>
    pseudoContext(
      targets.subarray(b * len, (b + 1) * len),
      ds,
      args.pseudoContext,
      new Rng(deriveSeed(key, "context")),
    ),
  );
  const k = parts[0].k;
  const out = emptyContextBatch(targets.length, k);
  parts.forEach((c, b) => {
    out.catIds.set(c.catIds, b * len * k);
    out.weights.set(c.weights, b * len * k);
    out.present.set(c.present, b * len);
  });
  return out;
}

/**
 * The per-example retrieval loss of a step: `lossOf(u, isolated, weights)` for the fused states
 * u [R, d] of the real positions, the mean over them (each row's loss × `weights` [R] when given);
 * `isolated` stops the gradient into the item embeddings (scope "context").
 */
type ExampleLoss = (u: tf.Tensor2D, isolated: boolean, weights?: Float32Array) => tf.Scalar;

/** The full softmax over every item: `reps` [N, d] holds the whole catalogue (row = item id). */
function fullLoss(s: StepInput, reps: tf.Tensor2D, args: TrainArgs): ExampleLoss {
  return (u, isolated, weights) => {
    const rows = fullSoftmaxRowLosses({
      u,
      positiveIds: s.positives,
      itemEmbeddings: reps,
      temperature: args.temperature,
      itemGradient: !isolated,
    });
    if (weights === undefined) return tf.mean(rows) as tf.Scalar;
    // Σ w·CE / R, not / Σ w: a data-parallel worker's share then adds up to the whole batch's loss
    // exactly as an unweighted mean does (parallelReplica.ts scales by R_w / R).
    return tf.div(tf.sum(tf.mul(rows, tf.tensor1d(weights))), rows.shape[0]) as tf.Scalar;
  };
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
  return (u, isolated, weights) =>
    sampledSoftmaxLoss({
      u,
      ...(weights === undefined ? {} : { weights }),
      positiveIds: s.positives,
      positiveEmbeddings: isolated ? stopGradient(posEmb) : posEmb,
      candidates: isolated ? { ...candidates, embeddings: stopGradient(candidates.embeddings) } : candidates,
      temperature: args.temperature,
    });
}

/**
 * The scalar loss of one prepared step (the mean over its R real positions) given the id rows of
 * `s.unique` [U, d]; dropout masks by the rows' keys.
 */
export function stepLoss(setup: StepSetup, s: StepInput, idRows: tf.Tensor2D): tf.Scalar {
  const { m, args, mode, freq, total, tasks } = setup;
  const drop = new RowDropout(s.keys, m.config.encoder.maxLen);
  const reps = itemReps(m, s.unique, idRows);
  const h = sequenceStates(m, s.seq, reps, s.histLocal, drop);
  const exampleLoss = mode === "full" ? fullLoss(s, reps, args) : sampledLoss(m, s, reps, freq, total, args);
  const real = tf.tensor1d(s.real, "int32");
  const w = args.noContextWeight;
  // The advertiser-level loss joins every loss that trains the tower (not an isolated one).
  const centroids =
    tasks.advertisers === undefined || s.advertiser === undefined
      ? undefined
      : advertiserCentroids(reps, tasks.advertisers);
  const lossOf = (ctx: StepInput["context"], isolated: boolean, states = h, weights = s.taskWeights) => {
    const u = tf.gather(
      fuseStates(m, isolated ? stopGradient(states) : states, ctx, drop, isolated),
      real,
    ) as tf.Tensor2D;
    const retrieval = exampleLoss(u, isolated, weights);
    if (centroids === undefined || s.advertiser === undefined || isolated) return retrieval;
    const adv = advertiserLoss(u, centroids, s.advertiser.labels, s.advertiser.weights, args.temperature);
    return tf.add(retrieval, tf.mul(adv, tasks.advertiserWeight)) as tf.Scalar;
  };
  const stale = s.stale === undefined ? undefined : productOf(s.stale.weights, s.taskWeights);
  // Stale-state context: each slot's subject is its input item (stepSetup refuses other sources).
  const context =
    s.context === undefined || !m.config.context.subjectItem
      ? s.context
      : { ...s.context, subjectVectors: subjectVectors(reps, s.histLocal, s.seq.items) };
  if (context === undefined || w === 0) return lossOf(context, false, staleView(h, s.stale), stale);
  // Scope "context": the with-context loss reaches the context layer and the head's context rows
  // only; the encoder, the item tower and the shared head learn from the no-context loss.
  const withContext = lossOf(context, args.contextLossScope === "context", staleView(h, s.stale), stale);
  // The same encoding fused once more with NO context: every example also trains the path a
  // request without a subject item takes (loo, cold context), so the history is never left idle.
  const P = s.seq.B * s.seq.len;
  const without = lossOf({ input: noContext(P), demographics: context.demographics }, false);
  return tf.div(tf.add(withContext, tf.mul(without, w)), 1 + w) as tf.Scalar;
}

/** Element-wise product of two optional weight vectors [R] (undefined = all 1). */
function productOf(a: Float32Array | undefined, b: Float32Array | undefined): Float32Array | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  return Float32Array.from(a, (x, r) => x * b[r]);
}

/** The states `h` [B, Lb, d] as the with-context loss reads them: slot j reads `stale.from[j]`. */
function staleView(h: tf.Tensor3D, stale: StaleStates | undefined): tf.Tensor3D {
  if (stale === undefined) return h;
  const [B, L, d] = h.shape;
  const flat = tf.reshape(h, [B * L, d]);
  return tf.reshape(tf.gather(flat, tf.tensor1d(stale.from, "int32")), [B, L, d]) as tf.Tensor3D;
}

/** What one step reports to the loop. */
export interface StepOutcome {
  /** Loss of the batch (mean over its real positions). */
  loss: number;
  /** Real positions (examples) of the batch. */
  examples: number;
}

/** What the loop reads of any stepper, on this thread or on workers. */
export interface StepperShape {
  rows: TrainingRows;
  /** The loss this run trains with ("auto" resolved by the catalogue size). */
  lossMode: LossMode;
  /** Most real positions per batch (the full softmax bounds its logits; Infinity otherwise). */
  maxBatchPositions: number;
}
