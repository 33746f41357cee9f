/**
 * One training step over dense variables (standard tfjs optimizer) and sparse tables (lazy
 * optimizers on the touched rows), with the time split into forward, backward and optimizer.
 */
import * as tf from "@tensorflow/tfjs-core";
import { CtxrecError } from "../core/errors.ts";
import { type SparseEmbeddingTable, type SparseOptimizer, selectRows } from "./sparseEmbedding.ts";

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

/**
 * Runs forward + backward on the tape, applies dense gradients with `optimizer` and sparse
 * gradients row by row. Leaves no tensors behind (checked by leakGuard tests).
 */
export function trainStep(args: TrainStepArgs): StepResult {
  const t0 = performance.now();
  let forwardMs = 0;
  const selections = args.sparse.map((feed) => {
    const all = concatIds(feed.ids);
    return selectRows(all, feed.table.rows, `${feed.table.name} ids`);
  });
  const rowTensors = args.sparse.map((feed, f) => feed.table.gatherRows(selections[f].rows));
  // Selecting and copying rows is part of the forward pass.
  const prepMs = performance.now() - t0;
  let lossValue = 0;
  let denseGrads: tf.NamedTensorMap = {};
  let sparseGrads: Float32Array[] = [];
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
    lossValue = value.dataSync()[0];
    value.dispose();
    const nv = args.variables.length;
    denseGrads = {};
    args.variables.forEach((v, i) => {
      if (grads[i] !== undefined && grads[i] !== null) denseGrads[v.name] = grads[i];
    });
    sparseGrads = rowTensors.map((_, f) => {
      const g = grads[nv + f];
      const data =
        g === undefined || g === null ? new Float32Array(rowTensors[f].size) : (g.dataSync() as Float32Array);
      g?.dispose();
      return data;
    });
    const backwardMs = performance.now() - t0 - forwardMs;
    const o0 = performance.now();
    args.optimizer.applyGradients(denseGrads);
    args.sparse.forEach((feed, f) => {
      feed.optimizer.apply(selections[f].rows, sparseGrads[f]);
    });
    const optimizerMs = performance.now() - o0;
    if (!Number.isFinite(lossValue)) {
      throw new CtxrecError(
        "CTXREC_ERR_NUMERIC",
        `loss is ${lossValue}; lower the learning rate or check the inputs`,
        {
          param: "loss",
        },
      );
    }
    return { loss: lossValue, forwardMs, backwardMs, optimizerMs };
  } finally {
    for (const g of Object.values(denseGrads)) g.dispose();
    for (const t of rowTensors) t.dispose();
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
