import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../core/rng.ts";
import { initEngine } from "./backend.ts";
import { barrier, DataParallelTrainer, mergeOwnedRows } from "./dataParallel.ts";
import { LazyAdam } from "./sparseEmbedding.ts";
import {
  createReferenceModel,
  disposeReferenceModel,
  randomBatch,
  referenceLoss,
} from "./testing/referenceModel.ts";
import { type ReferenceReplicaConfig, referenceShared, shardRange } from "./testing/referenceReplica.ts";
import { trainStep } from "./trainStep.ts";

beforeAll(async () => {
  await initEngine();
});

describe("data-parallel pieces", () => {
  it("merges the rows a worker owns, averaging over slots (hand-computed)", () => {
    // d = 2, 2 workers. slot 0: rows [4, 1] grads [[1,1],[2,2]]; slot 1: rows [1, 3] grads [[4,4],[6,6]].
    // Worker 1 owns odd rows: 1 → ([2,2]+[4,4])/2 = [3,3]; 3 → [6,6]/2 = [3,3]. Worker 0 owns 4 → [0.5,0.5].
    const slots = [
      { rows: Int32Array.from([4, 1]), grads: Float32Array.from([1, 1, 2, 2]) },
      { rows: Int32Array.from([1, 3]), grads: Float32Array.from([4, 4, 6, 6]) },
    ];
    const w1 = mergeOwnedRows(slots, 2, 1, 2);
    expect(Array.from(w1.rows)).toEqual([1, 3]);
    expect(Array.from(w1.grads)).toEqual([3, 3, 3, 3]);
    const w0 = mergeOwnedRows(slots, 2, 0, 2);
    expect(Array.from(w0.rows)).toEqual([4]);
    expect(Array.from(w0.grads)).toEqual([0.5, 0.5]);
  });

  it("splits a batch into contiguous shards", () => {
    expect(shardRange(7, 0, 2)).toEqual([0, 3]);
    expect(shardRange(7, 1, 2)).toEqual([3, 7]);
  });

  it("a one-party barrier passes and advances the generation", () => {
    const control = new Int32Array(new SharedArrayBuffer(12));
    barrier(control, 1);
    barrier(control, 1);
    expect(Array.from(control)).toEqual([0, 2, 0]);
  });
});

describe("data-parallel training over 2 worker threads", () => {
  it("gives the same losses and table as one thread (in-batch negatives over the whole batch)", async () => {
    const cfg = { vocab: 40, L: 4, d: 8, layers: 1, heads: 2, ffn: 16, batch: 6 };
    const config: ReferenceReplicaConfig = { cfg, seed: 5, learningRate: 1e-2 };
    const batches = Array.from({ length: 3 }, (_, i) => randomBatch(cfg, new Rng(100 + i)));

    // One thread.
    const m = createReferenceModel(cfg, new Rng(config.seed));
    const opt = tf.train.adam(config.learningRate);
    const lazy = new LazyAdam(m.table, { learningRate: config.learningRate });
    const single = batches.map(
      (b) =>
        trainStep({
          variables: m.variables,
          optimizer: opt,
          sparse: [{ table: m.table, optimizer: lazy, ids: [b.history, b.positives] }],
          loss: ([[h, p]]) => referenceLoss(m, h, p),
        }).loss,
    );

    // Two workers over shared memory.
    const shared = referenceShared(config);
    const trainer = await DataParallelTrainer.start({
      module: new URL("./testing/referenceReplica.ts", import.meta.url).href,
      config,
      shared,
      sparseTables: [{ dim: cfg.d, maxIds: cfg.batch * (cfg.L + 1) }],
      workers: 2,
    });
    const parallel: number[] = [];
    let weights: Float32Array[] = [];
    try {
      for (const b of batches) parallel.push((await trainer.step(b)).loss);
      weights = await trainer.weights();
    } finally {
      await trainer.close();
    }
    // Worker 0's dense copy, in the order of m.variables, is the single-thread model's; but for the
    // attention's key bias (bQkv [d, 2d)), whose exact gradient is 0 (the softmax cancels q·b_k),
    // so Adam moves it by float noise in both runs.
    expect(weights.map((w) => w.length)).toEqual(m.variables.map((v) => v.size));
    m.variables.forEach((v, k) => {
      const single = v.dataSync();
      for (let i = 0; i < single.length; i++) {
        if (v.name.endsWith("bQkv") && i >= cfg.d && i < 2 * cfg.d) continue;
        expect(Math.abs(weights[k][i] - single[i]), v.name).toBeLessThan(1e-4);
      }
    });
    for (let i = 0; i < single.length; i++) expect(parallel[i]).toBeCloseTo(single[i], 4);
    const table = new Float32Array(shared.items);
    let maxDiff = 0;
    for (let i = 0; i < table.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs(table[i] - m.table.values[i]));
    // Float32 sums in another order (half batches, then averaged): agreement to 1e-5.
    expect(maxDiff).toBeLessThan(1e-5);
    opt.dispose();
    disposeReferenceModel(m);
  });
});
