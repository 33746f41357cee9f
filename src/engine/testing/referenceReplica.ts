/**
 * The reference model as a data-parallel replica (see dataParallel.ts): the module that each
 * worker imports to build its copy. The item table and its Lazy Adam moments live in shared
 * memory created once by `referenceShared`; dense weights are drawn from the same seed in every
 * worker (and in a single-thread run), so all copies start identical.
 *
 * In-batch negatives: worker w encodes histories [lo, hi) but looks up ALL B positives and
 * scores against them, so each history still sees B − 1 negatives, exactly as in one thread.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "../../core/rng.ts";
import type { Replica } from "../dataParallel.ts";
import { LazyAdam, SparseEmbeddingTable } from "../sparseEmbedding.ts";
import { createReferenceModel, encode, inBatchSoftmaxLoss, type ReferenceConfig } from "./referenceModel.ts";

/** What every worker needs to rebuild the same model. */
export interface ReferenceReplicaConfig {
  cfg: ReferenceConfig;
  seed: number;
  learningRate: number;
}

/** A batch of the reference model: history ids [B·L], positive ids [B]. */
export interface ReferenceBatch {
  history: Int32Array;
  positives: Int32Array;
}

/** Shared buffers: the item table (seeded as in a single-thread model) and zeroed Adam moments. */
export function referenceShared(c: ReferenceReplicaConfig): Record<string, SharedArrayBuffer> {
  const table = SparseEmbeddingTable.create({
    rows: c.cfg.vocab,
    dim: c.cfg.d,
    rng: new Rng(c.seed).fork(),
    name: "ref/items",
  });
  const n = c.cfg.vocab * c.cfg.d * 4;
  return {
    items: table.values.buffer as SharedArrayBuffer,
    m: new SharedArrayBuffer(n),
    v: new SharedArrayBuffer(n),
  };
}

/** Rows [lo, hi) of a B-row batch for worker `index` of `count`. */
export function shardRange(B: number, index: number, count: number): [number, number] {
  return [Math.floor((B * index) / count), Math.floor((B * (index + 1)) / count)];
}

export function createReplica(
  config: unknown,
  shared: Record<string, SharedArrayBuffer>,
): Replica<ReferenceBatch> {
  const c = config as ReferenceReplicaConfig;
  const { cfg } = c;
  const table = SparseEmbeddingTable.over("ref/items", cfg.vocab, cfg.d, new Float32Array(shared.items));
  const m = createReferenceModel(cfg, new Rng(c.seed), "ref", table);
  const lazy = new LazyAdam(
    table,
    { learningRate: c.learningRate },
    { m: new Float32Array(shared.m), v: new Float32Array(shared.v) },
  );
  return {
    variables: m.variables,
    optimizer: tf.train.adam(c.learningRate),
    sparse: [{ table, optimizer: lazy }],
    shard(batch, index, count) {
      const B = batch.positives.length;
      const [lo, hi] = shardRange(B, index, count);
      return {
        ids: [[batch.history.subarray(lo * cfg.L, hi * cfg.L), batch.positives]],
        loss: ([[h, p]]) => inBatchSoftmaxLoss(encode(m, h, hi - lo), p, lo, ((hi - lo) * count) / B),
      };
    },
  };
}
