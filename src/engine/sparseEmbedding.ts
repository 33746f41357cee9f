/**
 * Embedding tables that live outside the dense graph.
 *
 * Why: a 1M×64 table is 256 MB as a tfjs variable, and Adam's two slots triple it; with the
 * gradients and copies of a step the 4 GB wasm heap overflows, and a dense Adam update touches all
 * rows every step. Here the table is a `Float32Array` on a SharedArrayBuffer (shareable with worker
 * threads, outside the wasm heap); a step copies only the U unique rows it touches into a [U, d]
 * tensor, the tape returns the gradient for those rows, and a lazy optimizer updates them in place.
 */
import * as tf from "@tensorflow/tfjs-core";
import { CtxrecError, requireArg } from "../core/errors.ts";
import type { Rng } from "../core/rng.ts";

/** A batch's rows of a table: the unique ids and where each requested id sits among them. */
export interface RowSelection {
  /** Unique table rows touched, in first-seen order [U]. */
  rows: Int32Array;
  /** For each requested id, its index into `rows` (same length as the request). */
  local: Int32Array;
}

/**
 * Unique rows of `ids` (in first-seen order) and each id's position among them. O(n) with a
 * scratch map; ids are validated against `numRows` (the message names the bad position).
 */
export function selectRows(ids: ArrayLike<number>, numRows: number, what = "ids"): RowSelection {
  const seen = new Map<number, number>();
  const rows: number[] = [];
  const local = new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!(Number.isInteger(id) && id >= 0 && id < numRows)) {
      throw new CtxrecError(
        "CTXREC_ERR_ARG",
        `id ${id} at position ${i} is not a row of a ${numRows}-row table`,
        {
          param: what,
        },
      );
    }
    let k = seen.get(id);
    if (k === undefined) {
      k = rows.length;
      seen.set(id, k);
      rows.push(id);
    }
    local[i] = k;
  }
  return { rows: Int32Array.from(rows), local };
}

/** Options of a new table. */
export interface SparseEmbeddingArgs {
  /** Number of rows N. */
  rows: number;
  /** Row width d. */
  dim: number;
  /** Initial values: N(0, scale²) drawn from this generator. */
  rng: Rng;
  /** Standard deviation of the initial values (default 1/√d; 0 = all zeros, nothing drawn). */
  scale?: number;
  /** Name used in error messages and checkpoints. */
  name: string;
}

/** An [N, d] float32 table in shared memory. */
export class SparseEmbeddingTable {
  readonly rows: number;
  readonly dim: number;
  readonly name: string;
  /** Row-major values [N·d], backed by `buffer`. */
  readonly values: Float32Array;

  private constructor(name: string, rows: number, dim: number, values: Float32Array) {
    this.name = name;
    this.rows = rows;
    this.dim = dim;
    this.values = values;
  }

  /** A new table with seeded normal values. */
  static create(args: SparseEmbeddingArgs): SparseEmbeddingTable {
    requireArg(
      Number.isInteger(args.rows) && args.rows > 0,
      "rows",
      `rows must be a positive integer, got ${args.rows}`,
    );
    requireArg(
      Number.isInteger(args.dim) && args.dim > 0,
      "dim",
      `dim must be a positive integer, got ${args.dim}`,
    );
    const values = new Float32Array(new SharedArrayBuffer(args.rows * args.dim * 4));
    const scale = args.scale ?? 1 / Math.sqrt(args.dim);
    // scale 0 gives a zero table without drawing (fast for huge tables in tests).
    if (scale !== 0) for (let i = 0; i < values.length; i++) values[i] = args.rng.normal() * scale;
    return new SparseEmbeddingTable(args.name, args.rows, args.dim, values);
  }

  /** A table over existing memory (e.g. a SharedArrayBuffer received by a worker thread). */
  static over(name: string, rows: number, dim: number, values: Float32Array): SparseEmbeddingTable {
    requireArg(values.length === rows * dim, "values", `expected ${rows * dim} values, got ${values.length}`);
    return new SparseEmbeddingTable(name, rows, dim, values);
  }

  /** Copies the selected rows into a new [U, d] tensor (the only part of the table on the heap). */
  gatherRows(rows: Int32Array): tf.Tensor2D {
    const d = this.dim;
    const out = new Float32Array(rows.length * d);
    for (let i = 0; i < rows.length; i++) out.set(this.values.subarray(rows[i] * d, rows[i] * d + d), i * d);
    return tf.tensor2d(out, [rows.length, d]);
  }

  /** Row `r` as a view (no copy). */
  row(r: number): Float32Array {
    return this.values.subarray(r * this.dim, (r + 1) * this.dim);
  }
}

/** An optimizer that updates only the rows a step touched. */
export interface SparseOptimizer {
  /** Applies `grads` [U·d] (row-major, one row per entry of `rows`) to the table. */
  apply(rows: Int32Array, grads: Float32Array): void;
  /** The learning rate of the next `apply`s (a schedule changes it; the state is kept). */
  setLearningRate(lr: number): void;
}

/** `lr` when it is a usable learning rate (finite, > 0); CTXREC_ERR_ARG otherwise. */
export function checkedRate(lr: number): number {
  requireArg(Number.isFinite(lr) && lr > 0, "learningRate", `expected a rate > 0, got ${lr}`);
  return lr;
}

/** Lazy Adam hyper-parameters (defaults as tf.train.adam). */
export interface LazyAdamArgs {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/**
 * Lazy Adam (TensorFlow Addons' LazyAdam): moments and values of the touched rows only, with the
 * global step's bias correction. Moments live in shared memory beside the table.
 */
export class LazyAdam implements SparseOptimizer {
  readonly m: Float32Array;
  readonly v: Float32Array;
  private step = 0;
  private lr: number;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;

  /**
   * `state` reuses existing moment buffers (e.g. received by a data-parallel worker); by default
   * fresh zeroed SharedArrayBuffers are allocated.
   */
  constructor(
    readonly table: SparseEmbeddingTable,
    readonly args: LazyAdamArgs,
    state?: { m: Float32Array; v: Float32Array },
  ) {
    this.lr = args.learningRate;
    this.beta1 = args.beta1 ?? 0.9;
    this.beta2 = args.beta2 ?? 0.999;
    this.epsilon = args.epsilon ?? 1e-7;
    const n = table.rows * table.dim;
    if (state !== undefined) {
      requireArg(
        state.m.length === n && state.v.length === n,
        "state",
        `moments must have ${n} values, got ${state.m.length} and ${state.v.length}`,
      );
    }
    this.m = state?.m ?? new Float32Array(new SharedArrayBuffer(n * 4));
    this.v = state?.v ?? new Float32Array(new SharedArrayBuffer(n * 4));
  }

  setLearningRate(lr: number): void {
    this.lr = checkedRate(lr);
  }

  apply(rows: Int32Array, grads: Float32Array): void {
    const d = this.table.dim;
    requireArg(
      grads.length === rows.length * d,
      "grads",
      `expected ${rows.length * d} values, got ${grads.length}`,
    );
    this.step++;
    const { beta1: b1, beta2: b2, epsilon: eps } = this;
    // Bias-corrected step size, as tf.train.adam: lr·√(1−β₂ᵗ)/(1−β₁ᵗ), ε added to √v̂ unscaled.
    const c1 = 1 - b1 ** this.step;
    const c2 = 1 - b2 ** this.step;
    const { lr } = this;
    const w = this.table.values;
    const { m, v } = this;
    for (let i = 0; i < rows.length; i++) {
      const base = rows[i] * d;
      const g0 = i * d;
      for (let j = 0; j < d; j++) {
        const g = grads[g0 + j];
        const k = base + j;
        m[k] = b1 * m[k] + (1 - b1) * g;
        v[k] = b2 * v[k] + (1 - b2) * g * g;
        w[k] -= (lr * (m[k] / c1)) / (Math.sqrt(v[k] / c2) + eps);
      }
    }
  }
}

/** Row-wise Adagrad hyper-parameters. */
export interface RowwiseAdagradArgs {
  learningRate: number;
  /** Initial accumulator value (default 0.1, as tf.train.adagrad). */
  initialAccumulator?: number;
  epsilon?: number;
}

/**
 * Row-wise Adagrad (as in DLRM/TorchRec): one accumulator per row, += mean(g²) over the row;
 * w -= lr·g/(√acc + ε). One float of state per row instead of d.
 */
export class RowwiseAdagrad implements SparseOptimizer {
  readonly accumulator: Float32Array;
  private readonly epsilon: number;
  private lr: number;

  constructor(
    readonly table: SparseEmbeddingTable,
    readonly args: RowwiseAdagradArgs,
  ) {
    this.lr = args.learningRate;
    this.epsilon = args.epsilon ?? 1e-10;
    this.accumulator = new Float32Array(new SharedArrayBuffer(table.rows * 4)).fill(
      args.initialAccumulator ?? 0.1,
    );
  }

  setLearningRate(lr: number): void {
    this.lr = checkedRate(lr);
  }

  apply(rows: Int32Array, grads: Float32Array): void {
    const d = this.table.dim;
    requireArg(
      grads.length === rows.length * d,
      "grads",
      `expected ${rows.length * d} values, got ${grads.length}`,
    );
    const w = this.table.values;
    const { lr } = this;
    for (let i = 0; i < rows.length; i++) {
      const g0 = i * d;
      let s = 0;
      for (let j = 0; j < d; j++) s += grads[g0 + j] * grads[g0 + j];
      const r = rows[i];
      this.accumulator[r] += s / d;
      const step = lr / (Math.sqrt(this.accumulator[r]) + this.epsilon);
      const base = r * d;
      for (let j = 0; j < d; j++) w[base + j] -= step * grads[g0 + j];
    }
  }
}
