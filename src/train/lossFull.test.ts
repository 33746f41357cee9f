import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../core/rng.ts";
import { initEngine, withBackend } from "../engine/backend.ts";
import { hasFusedSoftmaxCrossEntropy } from "../engine/fullSoftmax.ts";
import { softmaxCrossEntropyRows } from "../engine/kernels/softmaxCrossEntropy.ts";
import { maxViolation, onBothBackends } from "../engine/testing/parity.ts";
import { sampledSoftmaxLoss } from "./loss.ts";
import { uniformCandidates } from "./lossCandidates.ts";
import { fullSoftmaxLoss, fullSoftmaxRowLosses } from "./lossFull.ts";

beforeAll(async () => {
  await initEngine();
});

const cpu = <T>(fn: () => T) => withBackend("cpu", fn);

function randomMatrix(rows: number, cols: number, rng: Rng): number[][] {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => rng.normal()));
}

/** Value and gradients w.r.t. [u, items] of `combine(rows, items)`, rows = the per-row full-softmax losses. */
function rowLossGrads(
  U: tf.Tensor2D,
  E: tf.Tensor2D,
  positives: Int32Array,
  temperature: number,
  itemGradient: boolean,
  combine: (rows: tf.Tensor1D, items: tf.Tensor) => tf.Scalar,
) {
  return tf.valueAndGrads((u: tf.Tensor, e: tf.Tensor) =>
    combine(
      fullSoftmaxRowLosses({
        u: u as tf.Tensor2D,
        positiveIds: positives,
        itemEmbeddings: e as tf.Tensor2D,
        temperature,
        itemGradient,
      }),
      e,
    ),
  )([U, E]);
}

describe("fullSoftmaxLoss: hand-computed", () => {
  it("every real item competes; padding row 0 never does", () =>
    cpu(() => {
      // Items: 0 padding (a huge row that would dominate if it competed), 1 [1, 0], 2 [0, 1], 3 [1, 1].
      // u = [1, 0], positive 2: logits over items 1..3 = [1, 0, 1]; CE = log(e + 1 + e) − 0.
      const items = tf.tensor2d([
        [100, 0],
        [1, 0],
        [0, 1],
        [1, 1],
      ]);
      const rows = fullSoftmaxRowLosses({
        u: tf.tensor2d([[1, 0]]),
        positiveIds: Int32Array.from([2]),
        itemEmbeddings: items,
        temperature: 1,
      });
      expect(rows.dataSync()[0]).toBeCloseTo(Math.log(2 * Math.E + 1), 5);
      // τ = 0.5 doubles every logit: CE = log(e² + 1 + e²) − 0.
      const sharp = fullSoftmaxLoss({
        u: tf.tensor2d([[1, 0]]),
        positiveIds: Int32Array.from([2]),
        itemEmbeddings: items,
        temperature: 0.5,
      });
      expect(sharp.dataSync()[0]).toBeCloseTo(Math.log(2 * Math.E ** 2 + 1), 5);
    }));

  it("the gradient w.r.t. u is E_softmax[v] − v⁺ (mean over rows)", () =>
    cpu(() => {
      const rng = new Rng(3);
      const E = randomMatrix(6, 3, rng);
      const U = randomMatrix(2, 3, rng);
      const positives = [4, 1];
      const [g] = tf.grads((u: tf.Tensor) =>
        fullSoftmaxLoss({
          u: u as tf.Tensor2D,
          positiveIds: Int32Array.from(positives),
          itemEmbeddings: tf.tensor2d(E),
          temperature: 1,
        }),
      )([tf.tensor2d(U)]);
      const got = g.arraySync() as number[][];
      for (let r = 0; r < 2; r++) {
        const logits = E.slice(1).map((v) => v.reduce((s, x, k) => s + x * U[r][k], 0));
        const z = logits.reduce((s, l) => s + Math.exp(l), 0);
        for (let k = 0; k < 3; k++) {
          const expected =
            E.slice(1).reduce((s, v, j) => s + (Math.exp(logits[j]) / z) * v[k], 0) - E[positives[r]][k];
          expect(got[r][k]).toBeCloseTo(expected / 2, 5);
        }
      }
    }));
});

describe("fullSoftmaxLoss: the sampled softmax with every item as a candidate", () => {
  it("equals the sampled loss over all real items (uniform expected counts, own column masked), value and gradients", () =>
    cpu(() => {
      const rng = new Rng(11);
      const N = 9;
      const E = tf.tensor2d(randomMatrix(N, 4, rng));
      const U = tf.tensor2d(randomMatrix(5, 4, rng));
      const positives = Int32Array.from([1, 8, 3, 3, 5]);
      const all = Int32Array.from({ length: N - 1 }, (_, j) => j + 1);
      const full = (u: tf.Tensor, e: tf.Tensor) =>
        fullSoftmaxLoss({
          u: u as tf.Tensor2D,
          positiveIds: positives,
          itemEmbeddings: e as tf.Tensor2D,
          temperature: 0.7,
        });
      const sampled = (u: tf.Tensor, e: tf.Tensor) =>
        sampledSoftmaxLoss({
          u: u as tf.Tensor2D,
          positiveIds: positives,
          positiveEmbeddings: tf.gather(e, tf.tensor1d(positives, "int32")) as tf.Tensor2D,
          candidates: uniformCandidates(all, tf.gather(e, tf.tensor1d(all, "int32")) as tf.Tensor2D, N),
          temperature: 0.7,
        });
      const a = tf.valueAndGrads(full)([U, E]);
      const b = tf.valueAndGrads(sampled)([U, E]);
      expect(a.value.dataSync()[0]).toBeCloseTo(b.value.dataSync()[0], 5);
      for (let i = 0; i < 2; i++) {
        const v = maxViolation(
          a.grads[i].dataSync() as Float32Array,
          b.grads[i].dataSync() as Float32Array,
          1e-5,
          1e-4,
        );
        expect(v.excess).toBeLessThanOrEqual(0);
      }
    }));

  it("wasm agrees with cpu (value and gradients)", async () => {
    const rng = new Rng(5);
    const E = randomMatrix(40, 8, rng);
    const U = randomMatrix(12, 8, rng);
    const positives = Int32Array.from({ length: 12 }, () => 1 + rng.int(39));
    const { wasm, cpu: ref } = await onBothBackends(() => {
      const { value, grads } = tf.valueAndGrads((u: tf.Tensor, e: tf.Tensor) =>
        fullSoftmaxLoss({
          u: u as tf.Tensor2D,
          positiveIds: positives,
          itemEmbeddings: e as tf.Tensor2D,
          temperature: 1,
        }),
      )([tf.tensor2d(U), tf.tensor2d(E)]);
      return [value, ...grads];
    });
    for (let i = 0; i < ref.length; i++)
      expect(maxViolation(wasm[i], ref[i], 1e-5, 1e-4).excess).toBeLessThanOrEqual(0);
  });
});

describe("fullSoftmaxLoss: the fused wasm op", () => {
  it("is what wasm runs after initEngine (so the parity checks below compare two implementations)", () => {
    expect(tf.getBackend()).toBe("wasm");
    expect(hasFusedSoftmaxCrossEntropy()).toBe(true);
  });

  it("the kernel's rows: hand-computed loss and softmax − onehot, padding column zero", () => {
    // Row 0: logits over columns 1..3 = [1, 0, 1], label 2; column 0 (padding) is huge and ignored.
    const logits = Float32Array.from([100, 1, 0, 1, 100, 3, 3, 3]);
    const losses = new Float32Array(2);
    const grad = new Float32Array(8).fill(Number.NaN);
    softmaxCrossEntropyRows(logits, Int32Array.from([2, 3]), 4, 1, losses, grad);
    const z = 2 * Math.E + 1;
    expect(losses[0]).toBeCloseTo(Math.log(z), 6);
    expect(losses[1]).toBeCloseTo(Math.log(3), 6);
    const want = [0, Math.E / z, 1 / z - 1, Math.E / z, 0, 1 / 3, 1 / 3, 1 / 3 - 1];
    for (let j = 0; j < 8; j++) expect(grad[j]).toBeCloseTo(want[j], 6);
  });

  it("per-row weights, a temperature and large logits: value and gradients match the composite on cpu", async () => {
    const rng = new Rng(8);
    const E = randomMatrix(300, 16, rng).map((row) => row.map((x) => 4 * x)); // logits up to ~±60
    const U = randomMatrix(37, 16, rng);
    const positives = Int32Array.from({ length: 37 }, () => 1 + rng.int(299));
    const weights = tf.tensor1d(Array.from({ length: 37 }, () => rng.float()));
    const { wasm, cpu: ref } = await onBothBackends(() => {
      const { value, grads } = rowLossGrads(tf.tensor2d(U), tf.tensor2d(E), positives, 0.7, true, (rows) =>
        tf.sum(tf.mul(rows, weights)),
      );
      return [value, ...grads];
    });
    for (let i = 0; i < ref.length; i++)
      expect(maxViolation(wasm[i], ref[i], 1e-4, 1e-4).excess).toBeLessThanOrEqual(0);
    expect(wasm[2].subarray(0, 16).every((g) => g === 0)).toBe(true); // padding row 0 gets nothing
  });
});

describe("fullSoftmaxLoss: itemGradient false", () => {
  it.each(["wasm", "cpu"] as const)("on %s: the same loss and dU, no gradient to the items", (backend) =>
    withBackend(backend, () => {
      const rng = new Rng(13);
      const U = tf.tensor2d(randomMatrix(9, 6, rng));
      const E = tf.tensor2d(randomMatrix(30, 6, rng));
      const C = tf.tensor2d(randomMatrix(30, 6, rng));
      const positives = Int32Array.from({ length: 9 }, () => 1 + rng.int(29));
      // L = CE(u, E) + Σ E ⊙ C: with itemGradient false, dL/dE must be exactly C.
      const run = (itemGradient: boolean) =>
        rowLossGrads(U, E, positives, 0.5, itemGradient, (rows, e) =>
          tf.add(tf.mean(rows), tf.sum(tf.mul(e, C))),
        );
      const on = run(true);
      const off = run(false);
      expect(off.value.dataSync()[0]).toBeCloseTo(on.value.dataSync()[0], 5);
      const dU = maxViolation(
        off.grads[0].dataSync() as Float32Array,
        on.grads[0].dataSync() as Float32Array,
        1e-6,
        1e-5,
      );
      expect(dU.excess).toBeLessThanOrEqual(0);
      const c = C.dataSync() as Float32Array;
      expect(maxViolation(off.grads[1].dataSync() as Float32Array, c, 1e-6, 0).excess).toBeLessThanOrEqual(0);
      expect(maxViolation(on.grads[1].dataSync() as Float32Array, c, 1e-6, 0).excess).toBeGreaterThan(0);
    }),
  );
});

describe("fullSoftmaxLoss: bad input", () => {
  const args = (positiveIds: number[], u = [[1, 0]]) => ({
    u: tf.tensor2d(u),
    positiveIds: Int32Array.from(positiveIds),
    itemEmbeddings: tf.tensor2d([
      [0, 0],
      [1, 0],
    ]),
    temperature: 1,
  });
  it("refuses a padding or out-of-range positive, naming the row", () =>
    cpu(() => {
      expect(() => fullSoftmaxLoss(args([0]))).toThrow(/positiveIds.*row 0 has positive 0/);
      expect(() => fullSoftmaxLoss(args([2]))).toThrow(/positiveIds.*1\.\.1/);
    }));
  it("refuses a width mismatch and a bad temperature", () =>
    cpu(() => {
      expect(() => fullSoftmaxLoss(args([1], [[1, 0, 0]]))).toThrow(/itemEmbeddings/);
      expect(() => fullSoftmaxLoss({ ...args([1]), temperature: 0 })).toThrow(/temperature/);
    }));
});
