/**
 * Entry of one data-parallel worker thread (started by DataParallelTrainer; see dataParallel.ts
 * for the protocol). Builds its replica, then per step: gradients of its share → exchange slot →
 * barrier → averaged dense update on its own copy + lazy update of the table rows it owns → barrier.
 * Between steps it answers "weights" with copies of its dense variables.
 */
import { parentPort, workerData } from "node:worker_threads";
import * as tf from "@tensorflow/tfjs-core";
import { initEngine } from "./backend.ts";
import {
  abortBarrier,
  barrier,
  type ExchangeBuffers,
  mergeOwnedRows,
  type ReplicaFactory,
} from "./dataParallel.ts";
import { assertFiniteLoss, computeStepGradients, setLearningRate } from "./trainStep.ts";

const { module, config, shared, index, count } = workerData as {
  module: string;
  config: unknown;
  shared: Record<string, SharedArrayBuffer>;
  index: number;
  count: number;
};
const port = parentPort;
if (port === null) throw new Error("dataParallelWorker must run as a worker thread");

const fail = (err: unknown) =>
  port.postMessage({ type: "error", message: err instanceof Error ? err.message : String(err) });

try {
  await initEngine();
  const factory = (await import(module)).createReplica as ReplicaFactory;
  const replica = await factory(config, shared, { index, count });
  const sizes = replica.variables.map((v) => v.size);
  const denseSize = sizes.reduce((s, n) => s + n, 0);
  let ex: ExchangeBuffers | undefined;
  let tables: { dim: number; maxIds: number }[] = [];
  let control: Int32Array = new Int32Array(0);

  const step = (batch: unknown) => {
    if (ex === undefined) throw new Error("step before the exchange buffers arrived");
    const { ids, loss } = replica.shard(batch, index, count);
    const sparse = replica.sparse.map((s, f) => ({ ...s, ids: ids[f] }));
    const g = computeStepGradients({ variables: replica.variables, sparse, loss });
    const o0 = performance.now();
    try {
      // 1. Own slot: dense gradients (zeros for a variable without one) and sparse rows + grads.
      const mine = new Float32Array(ex.dense, index * denseSize * 4, denseSize);
      let off = 0;
      replica.variables.forEach((v, i) => {
        const t = g.dense[v.name];
        if (t === undefined) mine.fill(0, off, off + sizes[i]);
        else mine.set(t.dataSync() as Float32Array, off);
        off += sizes[i];
      });
      g.sparse.forEach((s, f) => {
        if (s.rows.length > tables[f].maxIds) {
          throw new Error(
            `table ${f}: ${s.rows.length} rows in one step exceed sparseTables[${f}].maxIds = ${tables[f].maxIds}; raise it`,
          );
        }
        const rows = new Int32Array(ex?.rows[f][index] as SharedArrayBuffer);
        rows[0] = s.rows.length;
        rows.set(s.rows, 1);
        new Float32Array(ex?.grads[f][index] as SharedArrayBuffer).set(s.grads);
      });
      barrier(control, count);
      // 2. Averaged dense gradients, same update on every copy.
      const avg: tf.NamedTensorMap = {};
      off = 0;
      replica.variables.forEach((v, i) => {
        const a = new Float32Array(sizes[i]);
        for (let w = 0; w < count; w++) {
          const slot = new Float32Array(ex?.dense as SharedArrayBuffer, (w * denseSize + off) * 4, sizes[i]);
          for (let j = 0; j < a.length; j++) a[j] += slot[j];
        }
        for (let j = 0; j < a.length; j++) a[j] /= count;
        avg[v.name] = tf.tensor(a, v.shape);
        off += sizes[i];
      });
      replica.optimizer.applyGradients(avg);
      tf.dispose(Object.values(avg));
      // 3. Sparse rows this worker owns, gradients averaged over all slots.
      replica.sparse.forEach((s, f) => {
        const slots = Array.from({ length: count }, (_, w) => {
          const rows = new Int32Array(ex?.rows[f][w] as SharedArrayBuffer);
          const n = rows[0];
          return {
            rows: rows.subarray(1, 1 + n),
            grads: new Float32Array(ex?.grads[f][w] as SharedArrayBuffer, 0, n * tables[f].dim),
          };
        });
        const own = mergeOwnedRows(slots, tables[f].dim, index, count);
        s.optimizer.apply(own.rows, own.grads);
      });
      barrier(control, count);
    } finally {
      tf.dispose(Object.values(g.dense));
    }
    assertFiniteLoss(g.loss);
    return {
      loss: g.loss,
      forwardMs: g.forwardMs,
      backwardMs: g.backwardMs,
      optimizerMs: performance.now() - o0,
    };
  };

  port.on(
    "message",
    (msg: {
      type: string;
      exchange?: ExchangeBuffers;
      sparseTables?: typeof tables;
      batch?: unknown;
      lr?: number;
    }) => {
      try {
        if (msg.type === "exchange" && msg.exchange !== undefined) {
          ex = msg.exchange;
          tables = msg.sparseTables ?? [];
          control = new Int32Array(ex.control);
          port.postMessage({ type: "exchangeReady" });
        } else if (msg.type === "learningRate") {
          setLearningRate(replica.optimizer, replica.sparse, msg.lr ?? Number.NaN);
        } else if (msg.type === "step") {
          port.postMessage({ type: "stepDone", ...step(msg.batch) });
        } else if (msg.type === "weights") {
          const values = replica.variables.map((v) => Float32Array.from(v.dataSync() as Float32Array));
          port.postMessage(
            { type: "weights", values },
            values.map((v) => v.buffer),
          );
        }
      } catch (err) {
        if (control.length > 0) abortBarrier(control);
        fail(err);
      }
    },
  );
  port.postMessage({ type: "ready", denseSize });
} catch (err) {
  fail(err);
}
