import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { Rng } from "../core/rng.ts";
import { initEngine } from "../engine/backend.ts";
import { LazyAdam, SparseEmbeddingTable } from "../engine/sparseEmbedding.ts";
import { setLearningRate } from "../engine/trainStep.ts";
import { PlateauDecay } from "./lrSchedule.ts";

describe("PlateauDecay", () => {
  it("halves after `patience` evaluations without a new best, restarts the count, stops at the floor", () => {
    const d = new PlateauDecay({ base: 0.01, factor: 0.5, patience: 2, floor: 0.25 });
    const rates = [true, false, false, false, true, false, false, false, false, false, false].map((imp) =>
      d.observe(imp),
    );
    expect(rates).toEqual([0.01, 0.01, 0.005, 0.005, 0.005, 0.005, 0.0025, 0.0025, 0.0025, 0.0025, 0.0025]);
  });
  it("factor 1 keeps the rate constant", () => {
    const d = new PlateauDecay({ base: 0.002, factor: 1, patience: 1, floor: 1 / 16 });
    for (let i = 0; i < 5; i++) expect(d.observe(false)).toBe(0.002);
  });
});

describe("setLearningRate", () => {
  it("sets a tfjs Adam's rate (read at the next applyGradients) and the sparse optimizers'", async () => {
    await initEngine();
    const v = tf.variable(tf.scalar(1));
    const adam = tf.train.adam(0.1);
    const table = SparseEmbeddingTable.create({ rows: 1, dim: 1, rng: new Rng(1), name: "t" });
    const lazy = new LazyAdam(table, { learningRate: 0.1 });
    // A constant gradient moves Adam by ≈lr a step (m̂ = g, v̂ = g²).
    const stepOnce = () => adam.applyGradients([{ name: v.name, tensor: tf.scalar(3) }]);
    stepOnce();
    expect(v.dataSync()[0]).toBeCloseTo(0.9, 4);
    setLearningRate(adam, [{ optimizer: lazy }], 0.01);
    stepOnce();
    expect(v.dataSync()[0]).toBeCloseTo(0.89, 4);
    const before = table.values[0];
    lazy.apply(Int32Array.from([0]), Float32Array.from([1]));
    expect(table.values[0]).toBeCloseTo(before - 0.01, 4);
    expect(() => setLearningRate(adam, [], -1)).toThrow(/learningRate/);
    adam.dispose();
    v.dispose();
  });
});
