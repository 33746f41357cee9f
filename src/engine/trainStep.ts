/**
 * One training step over dense variables (standard tfjs optimizer) and sparse tables (lazy
 * optimizers on the touched rows), with the time split into forward, backward and optimizer.
 */
import * as tf from "@tensorflow/tfjs-core";
import { CtxrecError } from "../core/errors.ts";
import {
  checkedRate,
  type SparseEmbeddingTable,
  type SparseOptimizer,
  selectRows,
} from "./sparseEmbedding.ts";

/** The ids a step looks up in one table, and the optimizer that updates that table. */
export interface SparseFeed {
  table: SparseEmbeddingTable;
  optimizer: SparseOptimizer;
  /** One or more id lists (e.g. the history and the positives of one item table). */
  ids: Int32Array[];
}

/** What `trainStep` needs. */
export interface TrainStepArgs {
  /** Dense trainable variables and their optimizer (e.g. tf.train.adam). */
  variables: tf.Variable[];
  optimizer: tf.Optimizer;
  sparse: SparseFeed[];
  /**
   * The forward pass. `lookups[f][j]` is the embedding of `sparse[f].ids[j]`: [n_j, d]. Returns the
   * scalar loss. Runs inside tidy and on the tape; must not dispose its inputs.
   */
  loss: (lookups: tf.Tensor2D[][]) => tf.Scalar;
}

/** Outcome of one step. */
export interface StepResult {
  loss: number;
  forwardMs: number;
  backwardMs: number;
  optimizerMs: number;
}

/** Gradients of one step, before any update: what data-parallel workers exchange. */
export interface StepGradients {
  loss: number;
  /** Dense gradients by variable name (tensors owned by the caller: dispose them). */
  dense: tf.NamedTensorMap;
  /** Per sparse feed: the unique rows touched [U] and their gradients [U·d]. */
  sparse: { rows: Int32Array; grads: Float32Array }[];
  forwardMs: number;
  backwardMs: number;
}

/**
 * Forward + backward on the tape for dense variables and the touched rows of sparse tables;
 * updates nothing. The caller owns (and must dispose) `dense`.
 */
export function computeStepGradients(
  args: Pick<TrainStepArgs, "variables" | "sparse" | "loss">,
): StepGradients {
  const t0 = performance.now();
  let forwardMs = 0;
  const selections = args.sparse.map((feed) => {
    const all = concatIds(feed.ids);
    return selectRows(all, feed.table.rows, `${feed.table.name} ids`);
  });
  const rowTensors = args.sparse.map((feed, f) => feed.table.gatherRows(selections[f].rows));
  // Selecting and copying rows is part of the forward pass.
  const prepMs = performance.now() - t0;
  try {
    const { value, grads } = tf.engine().gradients(
      () => {
        const f0 = performance.now();
        const lookups = args.sparse.map((feed, f) => {
          const all = tf.gather(rowTensors[f], tf.tensor1d(selections[f].local, "int32")) as tf.Tensor2D;
          const sizes = feed.ids.map((ids) => ids.length);
          return sizes.length === 1 ? [all] : (tf.split(all, sizes, 0) as tf.Tensor2D[]);
        });
        const loss = args.loss(lookups);
        forwardMs = prepMs + (performance.now() - f0);
        return loss;
      },
      [...args.variables, ...rowTensors],
      undefined,
      true,
    );
    const loss = value.dataSync()[0];
    value.dispose();
    const nv = args.variables.length;
    const dense: tf.NamedTensorMap = {};
    args.variables.forEach((v, i) => {
      if (grads[i] !== undefined && grads[i] !== null) dense[v.name] = grads[i];
    });
    const sparse = rowTensors.map((_, f) => {
      const g = grads[nv + f];
      const data =
        g === undefined || g === null ? new Float32Array(rowTensors[f].size) : (g.dataSync() as Float32Array);
      g?.dispose();
      return { rows: selections[f].rows, grads: data };
    });
    return { loss, dense, sparse, forwardMs, backwardMs: performance.now() - t0 - forwardMs };
  } finally {
    for (const t of rowTensors) t.dispose();
  }
}

/** Throws CTXREC_ERR_NUMERIC for a non-finite loss (before any update is applied). */
export function assertFiniteLoss(loss: number): void {
  if (!Number.isFinite(loss)) {
    throw new CtxrecError(
      "CTXREC_ERR_NUMERIC",
      `loss is ${loss}; lower the learning rate or check the inputs`,
      {
        param: "loss",
      },
    );
  }
}

/**
 * Runs forward + backward on the tape, applies dense gradients with `optimizer` and sparse
 * gradients row by row. Leaves no tensors behind (checked by leakGuard tests).
 */
export function trainStep(args: TrainStepArgs): StepResult {
  const g = computeStepGradients(args);
  try {
    const o0 = performance.now();
    args.optimizer.applyGradients(g.dense);
    args.sparse.forEach((feed, f) => {
      feed.optimizer.apply(g.sparse[f].rows, g.sparse[f].grads);
    });
    const optimizerMs = performance.now() - o0;
    assertFiniteLoss(g.loss);
    return { loss: g.loss, forwardMs: g.forwardMs, backwardMs: g.backwardMs, optimizerMs };
  } finally {
    for (const t of Object.values(g.dense)) t.dispose();
  }
}

function concatIds(ids: Int32Array[]): Int32Array {
  if (ids.length === 1) return ids[0];
  const out = new Int32Array(ids.reduce((s, a) => s + a.length, 0));
  let o = 0;
  for (const a of ids) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}

/**
 * Sets the learning rate of a dense optimizer and its sparse ones for the next steps, keeping
 * their moments (a schedule's change). tfjs's SGD, momentum, Adam, Adamax, RMSProp and Adagrad
 * optimizers all read `learningRate` at each `applyGradients`; it is only declared protected.
 */
export function setLearningRate(
  dense: tf.Optimizer,
  sparse: readonly { optimizer: SparseOptimizer }[],
  lr: number,
): void {
  checkedRate(lr);
  (dense as unknown as { learningRate: number }).learningRate = lr;
  for (const s of sparse) s.optimizer.setLearningRate(lr);
}
