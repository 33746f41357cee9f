import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../core/rng.ts";
import { initEngine } from "./backend.ts";
import { checkSteps, tidyChecked } from "./leakGuard.ts";
import { LazyAdam } from "./sparseEmbedding.ts";
import {
  createReferenceModel,
  disposeReferenceModel,
  randomBatch,
  referenceLoss,
} from "./testing/referenceModel.ts";
import { trainStep } from "./trainStep.ts";

beforeAll(async () => {
  await initEngine();
});

describe("leak guard", () => {
  it("keeps tensor count and wasm heap flat over 30 training steps", () => {
    const cfg = { vocab: 500, L: 8, d: 16, layers: 2, heads: 2, ffn: 32, batch: 16 };
    const rng = new Rng(11);
    const m = createReferenceModel(cfg, rng, "leak");
    const opt = tf.train.adam(1e-3);
    const sparse = new LazyAdam(m.table, { learningRate: 1e-3 });
    const losses: number[] = [];
    const report = checkSteps(
      () => {
        const b = randomBatch(cfg, rng);
        const r = trainStep({
          variables: m.variables,
          optimizer: opt,
          sparse: [{ table: m.table, optimizer: sparse, ids: [b.history, b.positives] }],
          loss: ([[h, p]]) => referenceLoss(m, h, p),
        });
        losses.push(r.loss);
      },
      { steps: 30, warmup: 3 },
    );
    expect(report.after.numTensors).toBe(report.afterWarmup.numTensors);
    expect(report.after.wasmHeapBytes).toBe(report.afterWarmup.wasmHeapBytes);
    expect(losses.every(Number.isFinite)).toBe(true);
    opt.dispose();
    disposeReferenceModel(m);
  });

  it("reports a step that leaks", () => {
    const kept: tf.Tensor[] = [];
    expect(() =>
      checkSteps(() => kept.push(tf.ones([2])), { steps: 3, warmup: 1, what: "leaky step" }),
    ).toThrow("leaky step: live tensors went from");
    tf.dispose(kept);
  });

  it("tidyChecked passes through a clean computation", () => {
    const y = tidyChecked("double", () => tf.mul(tf.ones([3]), 2));
    expect(Array.from(y.dataSync())).toEqual([2, 2, 2]);
    y.dispose();
  });
});
