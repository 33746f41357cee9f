/**
 * The ctxrec model as a data-parallel replica (engine/dataParallel.ts): the module every worker
 * thread imports to build its copy, and how a batch is split between the workers.
 *
 * Sharding: a batch (row indices chosen on the main thread by `epochBatches`) goes to
 * every worker; worker w takes a contiguous slice of it, cut so that the slices hold about equal
 * numbers of real positions (the rows of a batch differ in length, and the cost
 * of a step, the full softmax above all, grows with the positions). It prepares and encodes its
 * rows only (step.ts), and its loss is scaled so that the mean of the workers' losses is the
 * full-batch loss, the mean over ALL R real positions of the batch:
 *
 *     loss_w = mean_w × R_w / R × W   (= Σ_{r ∈ w} CE_r / R × W)
 *
 * so the averaged gradients are the full-batch gradients. Under the full softmax every worker
 * scores its rows against all N items, as one thread does. Under the sampled softmax each worker's
 * negatives are its own draws: in-batch negatives from ITS positions' positives and its own
 * uniform draws, with the logQ correction of that sample (M_b = its in-batch count), so each
 * worker's loss is a correct sampled softmax over fewer in-batch negatives than one thread uses.
 *
 * Randomness: dropout masks and pseudo-context are keyed by row and step (model/rowDropout.ts,
 * `StepRandom`), so a worker draws for its rows what one thread draws for them, and under the full
 * softmax the weights match one thread's up to float rounding. The sampled softmax's negatives come
 * from each worker's own stream, `deriveSeed(seed, "steps/worker<w>")`: there the same seed and
 * thread count give the same weights.
 */
import * as tf from "@tensorflow/tfjs-core";
import { requireArg } from "../core/errors.ts";
import { deriveSeed, Rng } from "../core/rng.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import { Vocab } from "../data/vocab.ts";
import type { Replica } from "../engine/dataParallel.ts";
import { LazyAdam, SparseEmbeddingTable } from "../engine/sparseEmbedding.ts";
import type { ModelConfig, VocabSizes } from "../model/config.ts";
import type { ItemFeatures } from "../model/itemFeatures.ts";
import { assignDenseWeights, createModel, modelVariables } from "../model/model.ts";
import type { TrainingRows } from "./examples.ts";
import { prepareStep, stepLoss, stepSeed, stepSetup } from "./step.ts";
import type { TrainArgs } from "./trainArgs.ts";

/** What every worker needs to rebuild the main thread's model and steps (structured-cloneable). */
export interface ParallelReplicaConfig {
  model: ModelConfig;
  sizes: VocabSizes;
  features: ItemFeatures;
  /**
   * The main model's dense weights at the start, in `modelVariables` order: every copy starts from
   * exactly these, whatever seed or history produced them.
   */
  dense: Float32Array[];
  /** The data set; its vocabularies arrive as plain objects and are rebuilt (`reviveDataset`). */
  ds: CompiledDataset;
  rows: TrainingRows;
  args: TrainArgs;
}

/** Names of the shared buffers: the id table [N·d] and its LazyAdam moments [N·d] each. */
export type ParallelShared = Record<"items" | "m" | "v", SharedArrayBuffer>;

/** Real positions (positives) of training row `r`: its events but the first. */
function positionsOf(rows: TrainingRows, r: number): number {
  return rows.ends[r] - rows.starts[r] - 1;
}

/** Real positions of the rows `batch` (indices into `rows`). */
export function batchPositions(rows: TrainingRows, batch: Int32Array): number {
  let total = 0;
  for (const r of batch) total += positionsOf(rows, r);
  return total;
}

/**
 * Worker `index` of `count`'s share of `batch` [B]: the contiguous slice [lo, hi) whose cumulative
 * real positions reach `total·index/count` .. `total·(index+1)/count`, each worker keeping at least
 * one row while B ≥ count (workers beyond B get none). `positions` are the slice's, `total` the batch's.
 */
export function shardByPositions(
  rows: TrainingRows,
  batch: Int32Array,
  index: number,
  count: number,
): { rows: Int32Array; positions: number; total: number } {
  const B = batch.length;
  const cum = new Float64Array(B + 1);
  for (let b = 0; b < B; b++) {
    const r = batch[b];
    requireArg(
      Number.isInteger(r) && r >= 0 && r < rows.users.length,
      "batch",
      `row ${r} at position ${b} is not one of the ${rows.users.length} training rows`,
    );
    cum[b + 1] = cum[b] + positionsOf(rows, r);
  }
  const total = cum[B];
  // First k with cum[k] ≥ total·i/count, kept inside [i, B − (count − i)] so no slice is empty.
  const cut = (i: number) => {
    if (B < count) return Math.min(i, B);
    let k = 0;
    while (k < B && cum[k] < (total * i) / count) k++;
    return Math.max(i, Math.min(B - (count - i), k));
  };
  const lo = index === 0 ? 0 : cut(index);
  const hi = index === count - 1 ? B : cut(index + 1);
  return { rows: batch.subarray(lo, hi), positions: cum[hi] - cum[lo], total };
}

/** The data set with its vocabularies rebuilt as `Vocab`s (structured clone keeps data, not classes). */
export function reviveDataset(ds: CompiledDataset): CompiledDataset {
  const vocab = (v: Vocab) => new Vocab(v.names);
  const demographics = Object.fromEntries(
    Object.entries(ds.demographics).map(([f, c]) => [f, { vocab: vocab(c.vocab), codes: c.codes }]),
  ) as CompiledDataset["demographics"];
  return {
    ...ds,
    userVocab: vocab(ds.userVocab),
    itemVocab: vocab(ds.itemVocab),
    categoryVocab: vocab(ds.categoryVocab),
    typeVocab: vocab(ds.typeVocab),
    advertiserVocab: vocab(ds.advertiserVocab),
    demographics,
  };
}

/** A worker's replica: the main model rebuilt, its id table and moments over the shared buffers. */
export function createReplica(
  config: unknown,
  shared: Record<string, SharedArrayBuffer>,
  worker: { index: number; count: number },
): Replica<Int32Array> {
  const c = config as ParallelReplicaConfig;
  const s = shared as ParallelShared;
  // The init seed does not matter: the dense weights are replaced by the main model's, and the id
  // table by the shared one.
  const m = createModel(c.model, c.sizes, c.features, new Rng(0));
  assignDenseWeights(m, c.dense);
  const own = m.item.ids;
  m.item.ids = SparseEmbeddingTable.over(own.name, own.rows, own.dim, new Float32Array(s.items));
  const { args } = c;
  const lazy = new LazyAdam(
    m.item.ids,
    { learningRate: args.learningRate, beta2: args.adamBeta2 },
    { m: new Float32Array(s.m), v: new Float32Array(s.v) },
  );
  const setup = stepSetup(m, reviveDataset(c.ds), args, c.rows);
  const random = {
    seed: stepSeed(args),
    step: -1,
    negatives: new Rng(deriveSeed(args.seed, `steps/worker${worker.index}`)),
  };
  return {
    variables: modelVariables(m),
    optimizer: tf.train.adam(args.learningRate, 0.9, args.adamBeta2),
    sparse: [{ table: m.item.ids, optimizer: lazy }],
    shard(batch, index, count) {
      // Every worker sees every step (with or without rows), so the step counters agree.
      random.step++;
      const part = shardByPositions(setup.rows, batch, index, count);
      // No rows (a batch smaller than the thread count): no loss, zero gradients.
      if (part.positions === 0) return { ids: [[new Int32Array(0)]], loss: () => tf.scalar(0) };
      const step = prepareStep(setup, part.rows, random);
      const scale = (part.positions / part.total) * count;
      return {
        ids: [[step.unique]],
        loss: ([[idRows]]) => tf.mul(stepLoss(setup, step, idRows), scale) as tf.Scalar,
      };
    },
  };
}
