/**
 * Data-parallel training over `worker_threads`: each worker has its own wasm instance and its own
 * copy of the dense weights, computes the gradients of its share of the batch, and the workers
 * exchange them through shared memory (no message passing on the hot path):
 *
 *   1. every worker writes its dense gradients [P] and its sparse rows + row gradients into its
 *      own slot of a SharedArrayBuffer, then waits at an Atomics barrier;
 *   2. every worker averages the W dense slots and applies the same optimizer update to its own
 *      copy (identical inputs, identical wasm code ⇒ the copies stay bit-identical);
 *   3. sparse tables live once, in shared memory: worker w merges the rows r with r mod W = w from
 *      all slots (gradients averaged) and applies the lazy optimizer to them, so every row is
 *      updated exactly once per step; a second barrier ends the step.
 *
 * In-batch negatives: a worker must not see only its half of the batch's candidates (that would
 * train with B/W negatives instead of B). The replica's `shard` decides what each worker looks
 * up; the reference replica (testing/referenceReplica.ts) scores its B/W histories against ALL B
 * positives, with each worker's loss scaled so that the mean over workers is the full-batch loss.
 * The step is then the single-thread step exactly (tested in dataParallel.test.ts).
 *
 * The model is built inside each worker by an ES module exporting `createReplica` (a
 * `ReplicaFactory`), given a structured-cloneable config and the shared buffers (tables, moments).
 */
import { Worker } from "node:worker_threads";
import type * as tf from "@tensorflow/tfjs-core";
import { CtxrecError, requireArg } from "../core/errors.ts";
import { checkedRate, type SparseEmbeddingTable, type SparseOptimizer } from "./sparseEmbedding.ts";

/** One worker's model: what `trainStep` needs, plus how to take a share of a batch. */
export interface Replica<Batch = unknown> {
  variables: tf.Variable[];
  optimizer: tf.Optimizer;
  /** Sparse tables (over shared memory) with their optimizers (over shared state). */
  sparse: { table: SparseEmbeddingTable; optimizer: SparseOptimizer }[];
  /**
   * Worker `index` of `count`'s share of `batch`: the ids it looks up in each table, and its loss.
   * The mean of the workers' losses must equal the full-batch loss (so averaged gradients are the
   * full-batch gradients).
   */
  shard(
    batch: Batch,
    index: number,
    count: number,
  ): { ids: Int32Array[][]; loss: (lookups: tf.Tensor2D[][]) => tf.Scalar };
}

/**
 * What a replica module exports as `createReplica`; `worker` is the calling worker's place (e.g.
 * to derive its own random stream).
 */
export type ReplicaFactory<Batch = unknown> = (
  config: unknown,
  shared: Record<string, SharedArrayBuffer>,
  worker: { index: number; count: number },
) => Replica<Batch> | Promise<Replica<Batch>>;

/** Options of `DataParallelTrainer.start`. */
export interface DataParallelArgs {
  /** `file:` URL of an ES module exporting `createReplica: ReplicaFactory`. */
  module: string;
  /** Handed to `createReplica` in every worker (structured-cloneable). */
  config: unknown;
  /** Shared buffers handed to `createReplica` (tables and optimizer state). */
  shared: Record<string, SharedArrayBuffer>;
  /** Per sparse table, in the replica's order: row width d and the most ids one worker looks up per step. */
  sparseTables: { dim: number; maxIds: number }[];
  /** Number of workers (default 2, one per core of the reference machine). */
  workers?: number;
}

/** Outcome of one data-parallel step (times are the slowest worker's). */
export interface ParallelStepResult {
  loss: number;
  forwardMs: number;
  backwardMs: number;
  /** Gradient exchange, averaging and both optimizers. */
  optimizerMs: number;
}

/** Shared-memory layout of the gradient exchange, built once the dense size is known. */
export interface ExchangeBuffers {
  /** [0]: arrivals, [1]: generation, [2]: abort flag. */
  control: SharedArrayBuffer;
  /** W slots of P floats. */
  dense: SharedArrayBuffer;
  /** Per table, per worker: Int32 [1 + maxIds] (count, then rows). */
  rows: SharedArrayBuffer[][];
  /** Per table, per worker: Float32 [maxIds·d]. */
  grads: SharedArrayBuffer[][];
}

export function allocateExchange(
  workers: number,
  denseSize: number,
  tables: { dim: number; maxIds: number }[],
): ExchangeBuffers {
  return {
    control: new SharedArrayBuffer(3 * 4),
    dense: new SharedArrayBuffer(workers * denseSize * 4),
    rows: tables.map((t) => Array.from({ length: workers }, () => new SharedArrayBuffer((1 + t.maxIds) * 4))),
    grads: tables.map((t) =>
      Array.from({ length: workers }, () => new SharedArrayBuffer(t.maxIds * t.dim * 4)),
    ),
  };
}

/**
 * Waits until all `count` workers have arrived (generation barrier on `control`). Throws
 * CTXREC_ERR_ENGINE if another worker aborted or nobody came within `timeoutMs`.
 */
export function barrier(control: Int32Array, count: number, timeoutMs = 600_000): void {
  const generation = Atomics.load(control, 1);
  if (Atomics.add(control, 0, 1) === count - 1) {
    Atomics.store(control, 0, 0);
    Atomics.add(control, 1, 1);
    Atomics.notify(control, 1);
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (Atomics.load(control, 1) === generation) {
    if (Atomics.load(control, 2) !== 0) {
      throw new CtxrecError("CTXREC_ERR_ENGINE", "another data-parallel worker failed; see its error", {
        param: "workers",
      });
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new CtxrecError(
        "CTXREC_ERR_ENGINE",
        `data-parallel barrier timed out after ${timeoutMs} ms; a worker is stuck or died`,
        { param: "workers" },
      );
    }
    Atomics.wait(control, 1, generation, Math.min(left, 1000));
  }
}

/** Marks the step as failed so that workers waiting at the barrier stop waiting. */
export function abortBarrier(control: Int32Array): void {
  Atomics.store(control, 2, 1);
  Atomics.notify(control, 1);
}

/**
 * The rows of one table that worker `index` of `count` owns this step (r mod count = index),
 * with the gradients of every slot summed and divided by `count`.
 * slots[w] = { rows: [U_w], grads: [U_w·d] } → { rows [R], grads [R·d] }.
 */
export function mergeOwnedRows(
  slots: { rows: Int32Array; grads: Float32Array }[],
  dim: number,
  index: number,
  count: number,
): { rows: Int32Array; grads: Float32Array } {
  const where = new Map<number, number>();
  const rows: number[] = [];
  for (const s of slots) {
    for (const r of s.rows) {
      if (r % count === index && !where.has(r)) {
        where.set(r, rows.length);
        rows.push(r);
      }
    }
  }
  const grads = new Float32Array(rows.length * dim);
  for (const s of slots) {
    for (let i = 0; i < s.rows.length; i++) {
      const k = where.get(s.rows[i]);
      if (k === undefined) continue;
      const src = i * dim;
      const dst = k * dim;
      for (let j = 0; j < dim; j++) grads[dst + j] += s.grads[src + j];
    }
  }
  for (let i = 0; i < grads.length; i++) grads[i] /= count;
  return { rows: Int32Array.from(rows), grads };
}

type FromWorker =
  | { type: "ready"; denseSize: number }
  | { type: "exchangeReady" }
  | ({ type: "stepDone" } & ParallelStepResult)
  | { type: "weights"; values: Float32Array[] }
  | { type: "error"; message: string };

/** Path of the worker entry beside this module (.ts under tsx, .js once compiled). */
function workerUrl(): URL {
  const ext = import.meta.url.endsWith(".ts") ? "ts" : "js";
  return new URL(`./dataParallelWorker.${ext}`, import.meta.url);
}

/**
 * Bootstrap code of a worker: imports the entry, through tsx's loader when running from
 * TypeScript sources (a worker does not inherit the parent's `--import tsx` loader).
 */
function workerSource(): string {
  const url = JSON.stringify(workerUrl().href);
  if (!url.endsWith('.ts"')) return `import(${url});`;
  // Resolved here, so the worker finds tsx whatever the current directory is.
  // (Under a test runner that rewrites import.meta, fall back to resolving from the directory.)
  const tsx = JSON.stringify(
    typeof import.meta.resolve === "function" ? import.meta.resolve("tsx/esm/api") : "tsx/esm/api",
  );
  return `import(${tsx}).then((t) => { t.register(); return import(${url}); });`;
}

/** Trains one model over several worker threads (see the module comment). */
export class DataParallelTrainer<Batch = unknown> {
  private constructor(
    private readonly workers: Worker[],
    private control: Int32Array,
  ) {}

  /** Starts the workers, builds the replicas and the exchange buffers. */
  static async start<Batch>(args: DataParallelArgs): Promise<DataParallelTrainer<Batch>> {
    const count = args.workers ?? 2;
    requireArg(Number.isInteger(count) && count >= 1, "workers", `workers must be ≥ 1, got ${count}`);
    const workers = Array.from(
      { length: count },
      (_, index) =>
        new Worker(workerSource(), {
          eval: true,
          workerData: { module: args.module, config: args.config, shared: args.shared, index, count },
        }),
    );
    const trainer = new DataParallelTrainer<Batch>(workers, new Int32Array(0));
    try {
      const ready = await Promise.all(workers.map((w) => nextMessage(w, "ready")));
      const denseSize = (ready[0] as { denseSize: number }).denseSize;
      const exchange = allocateExchange(count, denseSize, args.sparseTables);
      workers.forEach((w) => {
        w.postMessage({ type: "exchange", exchange, sparseTables: args.sparseTables });
      });
      await Promise.all(workers.map((w) => nextMessage(w, "exchangeReady")));
      trainer.control = new Int32Array(exchange.control);
      return trainer;
    } catch (err) {
      await trainer.close();
      throw err;
    }
  }

  /**
   * The learning rate of every worker's optimizers from the next step on (moments kept). Messages
   * to a worker arrive in order, so no reply is awaited; a worker's failure surfaces at that step.
   */
  setLearningRate(lr: number): void {
    checkedRate(lr);
    for (const w of this.workers) w.postMessage({ type: "learningRate", lr });
  }

  /** One step over `batch` (every worker receives it and takes its share). */
  async step(batch: Batch): Promise<ParallelStepResult> {
    for (const w of this.workers) w.postMessage({ type: "step", batch });
    let results: FromWorker[];
    try {
      results = await Promise.all(this.workers.map((w) => nextMessage(w, "stepDone")));
    } catch (err) {
      if (this.control.length > 0) abortBarrier(this.control);
      throw err;
    }
    const done = results as ({ type: "stepDone" } & ParallelStepResult)[];
    return {
      loss: done.reduce((s, r) => s + r.loss, 0) / done.length,
      forwardMs: Math.max(...done.map((r) => r.forwardMs)),
      backwardMs: Math.max(...done.map((r) => r.backwardMs)),
      optimizerMs: Math.max(...done.map((r) => r.optimizerMs)),
    };
  }

  /**
   * The dense weights of worker 0 [size of each variable], in the order of the replica's
   * `variables`. Every copy applies the same averaged update, so one worker speaks for all. Call
   * between steps.
   */
  async weights(): Promise<Float32Array[]> {
    const w = this.workers[0];
    const reply = nextMessage(w, "weights");
    w.postMessage({ type: "weights" });
    return ((await reply) as { values: Float32Array[] }).values;
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** The next message of `type` from `w`, or a CtxrecError if it reports an error or exits. */
function nextMessage(w: Worker, type: FromWorker["type"]): Promise<FromWorker> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: FromWorker) => {
      if (m.type === "error") {
        cleanup();
        reject(
          new CtxrecError("CTXREC_ERR_ENGINE", `data-parallel worker failed: ${m.message}`, {
            param: "workers",
          }),
        );
      } else if (m.type === type) {
        cleanup();
        resolve(m);
      }
    };
    const onError = (err: Error) => {
      cleanup();
      reject(
        new CtxrecError("CTXREC_ERR_ENGINE", `data-parallel worker crashed: ${err.message}`, {
          param: "workers",
        }),
      );
    };
    const onExit = (code: number) => {
      cleanup();
      reject(
        new CtxrecError("CTXREC_ERR_ENGINE", `data-parallel worker exited with code ${code}`, {
          param: "workers",
        }),
      );
    };
    const cleanup = () => {
      w.off("message", onMessage);
      w.off("error", onError);
      w.off("exit", onExit);
    };
    w.on("message", onMessage);
    w.on("error", onError);
    w.on("exit", onExit);
  });
}
