import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../core/rng.ts";
import { initEngine } from "./backend.ts";
import { LazyAdam, RowwiseAdagrad, SparseEmbeddingTable, selectRows } from "./sparseEmbedding.ts";
import { maxViolation } from "./testing/parity.ts";
import { trainStep } from "./trainStep.ts";

beforeAll(async () => {
  await initEngine();
});

describe("selectRows", () => {
  it("lists unique rows in first-seen order and maps each id to them", () => {
    const s = selectRows([5, 2, 5, 7, 2], 10);
    expect(Array.from(s.rows)).toEqual([5, 2, 7]);
    expect(Array.from(s.local)).toEqual([0, 1, 0, 2, 1]);
  });
  it("names the bad id and its position", () => {
    expect(() => selectRows([1, 10], 10, "history")).toThrow(
      "parameter history: id 10 at position 1 is not a row of a 10-row table",
    );
  });
});

describe("sparse optimizers (hand-computed)", () => {
  it("lazy Adam moves only the touched rows by lr·sign(g) on the first step", () => {
    const t = SparseEmbeddingTable.create({ rows: 3, dim: 2, rng: new Rng(1), name: "t" });
    const before = Float32Array.from(t.values);
    new LazyAdam(t, { learningRate: 0.1, epsilon: 0 }).apply(
      Int32Array.from([2]),
      Float32Array.from([0.5, -3]),
    );
    // Step 1: m̂ = g, v̂ = g² ⇒ update = lr·g/|g| = ±0.1.
    expect(t.values[4]).toBeCloseTo(before[4] - 0.1, 6);
    expect(t.values[5]).toBeCloseTo(before[5] + 0.1, 6);
    expect(Array.from(t.values.subarray(0, 4))).toEqual(Array.from(before.subarray(0, 4)));
  });
  it("lazy Adam over given moment buffers writes into them (shared state for workers)", () => {
    const t = SparseEmbeddingTable.create({ rows: 3, dim: 2, rng: new Rng(1), name: "t" });
    const m = new Float32Array(new SharedArrayBuffer(6 * 4));
    const v = new Float32Array(new SharedArrayBuffer(6 * 4));
    new LazyAdam(t, { learningRate: 0.1 }, { m, v }).apply(Int32Array.from([1]), Float32Array.from([2, -4]));
    // m = (1−β₁)·g = 0.1·[2, −4]; v = (1−β₂)·g² = 0.001·[4, 16]
    expect(m[2]).toBeCloseTo(0.2, 6);
    expect(m[3]).toBeCloseTo(-0.4, 6);
    expect(v[3]).toBeCloseTo(0.016, 6);
    expect(() => new LazyAdam(t, { learningRate: 0.1 }, { m: new Float32Array(5), v })).toThrow(
      /moments must have 6 values/,
    );
  });
  it("a new learning rate scales the next step and keeps the moments; a bad rate is refused", () => {
    const t = SparseEmbeddingTable.create({ rows: 1, dim: 1, rng: new Rng(1), name: "t" });
    const opt = new LazyAdam(t, { learningRate: 0.1, epsilon: 0 });
    const g = Float32Array.from([2]);
    opt.apply(Int32Array.from([0]), g);
    const m = opt.m[0];
    opt.setLearningRate(0.025);
    expect(opt.m[0]).toBe(m);
    const before = t.values[0];
    opt.apply(Int32Array.from([0]), g);
    // A constant gradient keeps m̂ = g and v̂ = g²: each step moves by exactly lr.
    expect(t.values[0]).toBeCloseTo(before - 0.025, 6);
    expect(() => opt.setLearningRate(Number.NaN)).toThrow(/learningRate.*NaN/);
    expect(() => new RowwiseAdagrad(t, { learningRate: 1 }).setLearningRate(0)).toThrow(/rate > 0/);
  });
  it("row-wise Adagrad keeps one accumulator per row", () => {
    const t = SparseEmbeddingTable.create({ rows: 2, dim: 2, rng: new Rng(2), name: "t" });
    const before = Float32Array.from(t.values);
    const opt = new RowwiseAdagrad(t, { learningRate: 1, initialAccumulator: 0, epsilon: 0 });
    opt.apply(Int32Array.from([1]), Float32Array.from([3, 4]));
    // acc = (9 + 16)/2 = 12.5; step = 1/√12.5 = 0.28284; Δ = −[0.84853, 1.13137]
    expect(opt.accumulator[1]).toBeCloseTo(12.5, 6);
    expect(t.values[2]).toBeCloseTo(before[2] - 0.848528, 5);
    expect(t.values[3]).toBeCloseTo(before[3] - 1.131371, 5);
  });
});

describe("sparse embedding path vs dense tf.gather", () => {
  for (const seed of [3, 4]) {
    it(`seed ${seed}: same loss and same row gradients`, () => {
      const rows = 20;
      const d = 4;
      const table = SparseEmbeddingTable.create({ rows, dim: d, rng: new Rng(seed), name: "items" });
      const r = new Rng(seed + 1);
      const ids = Int32Array.from({ length: 12 }, () => r.int(rows));
      const ids2 = Int32Array.from({ length: 5 }, () => r.int(rows));
      const w = tf.tensor2d(
        Float32Array.from({ length: 12 * d }, () => r.normal()),
        [12, d],
      );
      const w2 = tf.tensor2d(
        Float32Array.from({ length: 5 * d }, () => r.normal()),
        [5, d],
      );
      const lossOf = (a: tf.Tensor2D, b: tf.Tensor2D) =>
        tf.add(tf.sum(tf.square(tf.mul(a, w))), tf.sum(tf.mul(b, w2))) as tf.Scalar;

      // Dense reference: gradient of the whole table through tf.gather.
      const dense = tf.variable(tf.tensor2d(Float32Array.from(table.values), [rows, d]));
      const ref = tf.variableGrads(() => lossOf(tf.gather(dense, ids), tf.gather(dense, ids2)), [dense]);
      const refGrad = ref.grads[dense.name].dataSync();

      // Sparse path: capture the row gradients the optimizer receives.
      let got: { rows: Int32Array; grads: Float32Array } | undefined;
      const spy = {
        apply: (rs: Int32Array, g: Float32Array) => (got = { rows: rs, grads: Float32Array.from(g) }),
        setLearningRate: () => {},
      };
      const res = trainStep({
        variables: [],
        optimizer: tf.train.sgd(0),
        sparse: [{ table, optimizer: spy, ids: [ids, ids2] }],
        loss: ([[a, b]]) => lossOf(a, b),
      });
      expect(res.loss).toBeCloseTo(ref.value.dataSync()[0], 3);
      if (got === undefined) throw new Error("optimizer not called");
      const expected = new Float32Array(got.grads.length);
      got.rows.forEach((row, i) => {
        expected.set(refGrad.subarray(row * d, row * d + d), i * d);
      });
      expect(maxViolation(got.grads, expected, 1e-5, 1e-5).excess).toBeLessThanOrEqual(0);
      // Rows never looked up get no gradient in the dense reference either.
      const touched = new Set(got.rows);
      for (let row = 0; row < rows; row++) if (!touched.has(row)) expect(refGrad[row * d]).toBe(0);
      tf.dispose([w, w2, dense, ref.value, ...Object.values(ref.grads)]);
    });
  }

  it("handles a 1M-row table without putting it on the wasm heap", () => {
    const table = SparseEmbeddingTable.create({
      rows: 1_000_000,
      dim: 64,
      rng: new Rng(9),
      scale: 0,
      name: "big",
    });
    const opt = new LazyAdam(table, { learningRate: 0.01 });
    const ids = Int32Array.from([0, 999_999, 123_456, 999_999]);
    const before = Float32Array.from(table.row(999_999));
    trainStep({
      variables: [],
      optimizer: tf.train.sgd(0),
      sparse: [{ table, optimizer: opt, ids: [ids] }],
      loss: ([[e]]) => tf.sum(e) as tf.Scalar,
    });
    // d(sum)/d(row) = 1 per use ⇒ Adam's first step moves each touched value by −lr.
    expect(table.row(999_999)[0]).toBeCloseTo(before[0] - 0.01, 5);
    expect(table.values.buffer).toBeInstanceOf(SharedArrayBuffer);
  });
});
