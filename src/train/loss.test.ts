import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../core/rng.ts";
import { initEngine, withBackend } from "../engine/backend.ts";
import { maxViolation, onBothBackends } from "../engine/testing/parity.ts";
import { type SampledSoftmaxArgs, sampledSoftmaxLoss, sampledSoftmaxRowLosses } from "./loss.ts";
import {
  type Candidates,
  inBatchCandidates,
  itemFrequency,
  mixCandidates,
  sampleUniformIds,
  uniformCandidates,
} from "./lossCandidates.ts";
import { referenceSampledSoftmaxLoss } from "./lossReference.ts";

beforeAll(async () => {
  await initEngine();
});

const cpu = <T>(fn: () => T) => withBackend("cpu", fn);

/** Candidates with a hand-set expected count per item id. */
function fixedCandidates(ids: number[], rows: number[][], countOf: Record<number, number>): Candidates {
  const expectedCount = Float32Array.from(ids, (id) => countOf[id] ?? 0);
  return {
    ids: Int32Array.from(ids),
    embeddings: tf.tensor2d(rows),
    expectedCount,
    sampler: { name: "fixed", expectedCount: (id) => countOf[id] ?? 0 },
  };
}

const I2 = [
  [1, 0],
  [0, 1],
];

describe("sampledSoftmaxLoss: hand-computed", () => {
  it("in-batch, equal frequencies: the positive's own copy is masked", () =>
    cpu(() => {
      // u = p = I₂, ids [1, 2], f₁ = f₂ = 1, Σf = 2 → every expected count 2·1/2 = 1, log 1 = 0.
      // Row 0: label 1; col 0 (id 1) is the accidental hit; col 1: u₀·p₁ = 0.
      //   CE₀ = log(e¹ + e⁰) − 1 = log(1 + e⁻¹) = 0.313262; row 1 is the mirror image.
      const pos = tf.tensor2d(I2);
      const ids = Int32Array.from([1, 2]);
      const loss = sampledSoftmaxLoss({
        u: tf.tensor2d(I2),
        positiveIds: ids,
        positiveEmbeddings: pos,
        candidates: inBatchCandidates(ids, pos, [0, 1, 1], 2),
        temperature: 1,
      });
      expect(loss.dataSync()[0]).toBeCloseTo(Math.log(1 + Math.exp(-1)), 5);
    }));

  it("mixed in-batch + uniform: the label gets the same logQ rule as the negatives", () =>
    cpu(() => {
      // As above plus one uniform id 3 with embedding [1, 1] over N − 1 = 3 items (M_u/N = 1/3):
      // E(1) = E(2) = 1 + 1/3 = 4/3, E(3) = 1/3.
      // Row 0: label 1 − log(4/3); id 2: 0 − log(4/3); id 3: 1 − log(1/3).
      //   CE₀ = log(¾e + ¾ + 3e) − log(¾e) = log((5e + 1)/e) = log(5 + e⁻¹) = 1.680443.
      // Row 1 is the mirror image (u₁·[1,1] = 1 too), so the loss is log(5 + e⁻¹).
      const pos = tf.tensor2d(I2);
      const ids = Int32Array.from([1, 2]);
      const c = mixCandidates(
        inBatchCandidates(ids, pos, [0, 1, 1, 0], 2),
        uniformCandidates(Int32Array.from([3]), tf.tensor2d([[1, 1]]), 4),
      );
      const args = {
        u: tf.tensor2d(I2),
        positiveIds: ids,
        positiveEmbeddings: pos,
        candidates: c,
        temperature: 1,
      };
      expect(sampledSoftmaxLoss(args).dataSync()[0]).toBeCloseTo(Math.log(5 + Math.exp(-1)), 5);
    }));

  it("divides by the temperature before the correction", () =>
    cpu(() => {
      // One row, u·p = 1, one negative with u·c = 0, all expected counts 1 (log 1 = 0), τ = 0.5:
      // CE = log(e² + e⁰) − 2 = log(1 + e⁻²) = 0.126928.
      const c = fixedCandidates([2], [[0, 1]], { 1: 1, 2: 1 });
      const loss = sampledSoftmaxLoss({
        u: tf.tensor2d([[1, 0]]),
        positiveIds: Int32Array.from([1]),
        positiveEmbeddings: tf.tensor2d([[1, 0]]),
        candidates: c,
        temperature: 0.5,
      });
      expect(loss.dataSync()[0]).toBeCloseTo(Math.log(1 + Math.exp(-2)), 5);
    }));
});

describe("logQ sign", () => {
  // One row: label id 1 (u·p = 1), negatives: a POPULAR item 2 (expected 10 times) and a RARE item 3
  // (expected 0.1 times) with the SAME embedding, so the same raw score u·v = 0.5.
  // ∂L/∂v_m = softmax_m · u/τ, so ‖∂L/∂v_m‖ is each negative's share of the loss's push.
  // Corrected logits: popular 0.5 − log 10 = −1.80, rare 0.5 + log 10 = 2.80 → ratio of shares
  // e^(−1.80 − 2.80) = 1/100. With the sign flipped the popular item would get 100× the rare one's push.
  const setup = () => ({
    u: tf.tensor2d([[1, 0]]),
    positiveIds: Int32Array.from([1]),
    positiveEmbeddings: tf.tensor2d([[1, 0]]),
    temperature: 1,
  });
  const rows = [
    [0.5, 0.3],
    [0.5, 0.3],
  ];
  const counts = { 1: 1, 2: 10, 3: 0.1 };

  it("a popular negative contributes less to the loss than a rare one with the same score", () =>
    cpu(() => {
      const emb = tf.tensor2d(rows);
      const g = tf.grad((e: tf.Tensor) =>
        sampledSoftmaxLoss({
          ...setup(),
          candidates: { ...fixedCandidates([2, 3], rows, counts), embeddings: e as tf.Tensor2D },
        }),
      )(emb);
      const gv = g.arraySync() as number[][];
      const popular = Math.hypot(...gv[0]);
      const rare = Math.hypot(...gv[1]);
      expect(popular).toBeLessThan(rare);
      expect(popular / rare).toBeCloseTo(0.01, 4);
    }));

  it("the loss with only the popular negative is lower than with only the rare one", () =>
    cpu(() => {
      const only = (id: number) =>
        sampledSoftmaxLoss({
          ...setup(),
          candidates: fixedCandidates([id], [rows[0]], counts),
        }).dataSync()[0];
      // label 1 − log 1 = 1; popular: log(e¹ + e^(0.5−log 10)) − 1 = 0.0590; rare: log(e¹ + e^(0.5+log 10)) − 1 = 1.9741
      expect(only(2)).toBeCloseTo(Math.log(Math.E + Math.exp(0.5) / 10) - 1, 4);
      expect(only(3)).toBeCloseTo(Math.log(Math.E + Math.exp(0.5) * 10) - 1, 4);
      expect(only(2)).toBeLessThan(only(3));
    }));

  it("logQ: false removes the correction (ablation)", () =>
    cpu(() => {
      const v = sampledSoftmaxLoss({
        ...setup(),
        candidates: fixedCandidates([2], [rows[0]], counts),
        logQ: false,
      });
      // log(e¹ + e^0.5) − 1 = 0.474077
      expect(v.dataSync()[0]).toBeCloseTo(Math.log(Math.E + Math.exp(0.5)) - 1, 4);
    }));
});

/** A random batch: B rows over a small vocabulary (so hits and duplicates occur), one padding row. */
function randomBatch(seed: number) {
  const r = new Rng(seed);
  const [B, d, N, Mu] = [6, 4, 7, 3];
  const positives = Int32Array.from({ length: B }, () => 1 + r.int(N - 1));
  positives[B - 1] = 0; // padding row
  const train = Int32Array.from({ length: 40 }, () => 1 + r.int(N - 1));
  for (const p of positives) if (p !== 0) train[r.int(train.length)] = p; // every positive has f ≥ 1
  const freq = itemFrequency(train, N);
  const uniformIds = sampleUniformIds(Mu, N, r);
  const rand = (n: number) => Float32Array.from({ length: n }, () => r.normal());
  return {
    B,
    d,
    N,
    positives,
    freq,
    total: train.length,
    uniformIds,
    u: rand(B * d),
    pos: rand(B * d),
    uni: rand(Mu * d),
    temperature: 0.2 + r.float(),
  };
}
type Batch = ReturnType<typeof randomBatch>;

function tfArgs(x: Batch, u: tf.Tensor2D, pos: tf.Tensor2D, uni: tf.Tensor2D): SampledSoftmaxArgs {
  const c = mixCandidates(
    inBatchCandidates(x.positives, pos, x.freq, x.total),
    uniformCandidates(x.uniformIds, uni, x.N),
  );
  return { u, positiveIds: x.positives, positiveEmbeddings: pos, candidates: c, temperature: x.temperature };
}

function reference(x: Batch, u: ArrayLike<number> = x.u): number {
  const Mb = x.positives.filter((p) => p !== 0).length;
  const cand = new Float32Array(x.pos.length + x.uni.length);
  cand.set(x.pos, 0);
  cand.set(x.uni, x.pos.length);
  return referenceSampledSoftmaxLoss({
    u,
    positiveIds: x.positives,
    positiveEmbeddings: x.pos,
    candidateIds: [...x.positives, ...x.uniformIds],
    candidateEmbeddings: cand,
    // M_b · f_i / Σf + M_u / (N − 1), written out independently of lossCandidates.ts
    expectedCount: (id) => (id === 0 ? 0 : (Mb * x.freq[id]) / x.total + x.uniformIds.length / (x.N - 1)),
    d: x.d,
    temperature: x.temperature,
  });
}

const tensors = (x: Batch) =>
  [
    tf.tensor2d(x.u, [x.B, x.d]),
    tf.tensor2d(x.pos, [x.B, x.d]),
    tf.tensor2d(x.uni, [x.uniformIds.length, x.d]),
  ] as const;

describe("sampledSoftmaxLoss vs the plain-TypeScript reference", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`seed ${seed}: mixed negatives, hits, a padding row`, () =>
      cpu(() => {
        const x = randomBatch(seed);
        const [u, pos, uni] = tensors(x);
        const got = sampledSoftmaxLoss(tfArgs(x, u, pos, uni)).dataSync()[0];
        const want = reference(x);
        expect(Math.abs(got - want)).toBeLessThan(1e-4 * (1 + Math.abs(want)));
      }));
  }

  it("∂L/∂u matches central differences of the reference; every gradient is finite", () =>
    cpu(() => {
      const x = randomBatch(11);
      const [u, pos, uni] = tensors(x);
      const [gu, gp, gc] = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        sampledSoftmaxLoss(tfArgs(x, a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor2D)),
      )([u, pos, uni]);
      for (const g of [gu, gp, gc]) expect(g.dataSync().every(Number.isFinite)).toBe(true);
      const analytic = gu.dataSync();
      const h = 1e-4;
      for (let i = 0; i < x.u.length; i++) {
        const plus = Float64Array.from(x.u);
        const minus = Float64Array.from(x.u);
        plus[i] += h;
        minus[i] -= h;
        const numeric = (reference(x, plus) - reference(x, minus)) / (2 * h);
        expect(Math.abs(analytic[i] - numeric)).toBeLessThan(2e-3 * (1 + Math.abs(numeric)));
      }
      // The padding row (last) gets no gradient at all.
      expect(Array.from(analytic.slice((x.B - 1) * x.d))).toEqual([0, 0, 0, 0]);
    }));
});

describe("rows and masks", () => {
  it("padding rows contribute nothing, whatever their embeddings", () =>
    cpu(() => {
      const pos = tf.tensor2d([...I2, [5, -3]]);
      const ids = Int32Array.from([1, 2, 0]);
      const args = {
        u: tf.tensor2d([...I2, [9, 9]]),
        positiveIds: ids,
        positiveEmbeddings: pos,
        candidates: inBatchCandidates(ids, pos, [0, 1, 1], 2),
        temperature: 1,
      };
      // Same as the two-row in-batch case: log(1 + e⁻¹); the padding candidate (id 0) is masked too.
      expect(sampledSoftmaxLoss(args).dataSync()[0]).toBeCloseTo(Math.log(1 + Math.exp(-1)), 5);
    }));

  it("weights give a weighted mean of the row losses", () =>
    cpu(() => {
      // Row 0: label 1, negative u₀·c = 0 → log(1 + e⁻¹) = 0.313262
      // Row 1: label 0, negative u₁·c = 1 → log(1 + e¹) = 1.313262. Weights [1, 3] →
      // (0.313262 + 3·1.313262) / 4 = 1.063262
      const c = fixedCandidates([3], [[0, 1]], { 1: 1, 2: 1, 3: 1 });
      const args = {
        u: tf.tensor2d(I2),
        positiveIds: Int32Array.from([1, 2]),
        positiveEmbeddings: tf.tensor2d([
          [1, 0],
          [1, 0],
        ]),
        candidates: c,
        temperature: 1,
      };
      const rows = sampledSoftmaxRowLosses(args).dataSync();
      expect(rows[0]).toBeCloseTo(0.313262, 5);
      expect(rows[1]).toBeCloseTo(1.313262, 5);
      const w = sampledSoftmaxLoss({ ...args, weights: Float32Array.from([1, 3]) }).dataSync()[0];
      expect(w).toBeCloseTo(1.063262, 5);
      expect(sampledSoftmaxLoss({ ...args, weights: new Float32Array(2) }).dataSync()[0]).toBe(0);
      expect(() => sampledSoftmaxLoss({ ...args, weights: Float32Array.from([1, -1]) })).toThrow(
        "parameter weights: weight -1 at row 1 is negative",
      );
    }));

  it("without the accidental-hit mask the positive competes with its own copy (loss goes up)", () =>
    cpu(() => {
      const pos = tf.tensor2d(I2);
      const ids = Int32Array.from([1, 2]);
      const base = {
        u: tf.tensor2d(I2),
        positiveIds: ids,
        positiveEmbeddings: pos,
        candidates: inBatchCandidates(ids, pos, [0, 1, 1], 2),
        temperature: 1,
      };
      // Unmasked row 0: log(e¹ + e¹ + e⁰) − 1 = log(2 + e⁻¹) = 0.861994
      const off = sampledSoftmaxLoss({ ...base, removeAccidentalHits: false }).dataSync()[0];
      expect(off).toBeCloseTo(Math.log(2 + Math.exp(-1)), 5);
      expect(off).toBeGreaterThan(sampledSoftmaxLoss(base).dataSync()[0]);
    }));

  it("rejects mismatched shapes with the parameter name", () =>
    cpu(() => {
      const c = fixedCandidates([2], [[0, 1]], { 2: 1 });
      const u = tf.tensor2d(I2);
      expect(() =>
        sampledSoftmaxLoss({
          u,
          positiveIds: Int32Array.from([1]),
          positiveEmbeddings: tf.tensor2d(I2),
          candidates: c,
          temperature: 1,
        }),
      ).toThrow("parameter positiveIds: expected length 2, received 1");
      expect(() =>
        sampledSoftmaxLoss({
          u,
          positiveIds: Int32Array.from([1, 2]),
          positiveEmbeddings: tf.tensor2d([[1, 0, 0]]),
          candidates: c,
          temperature: 1,
        }),
      ).toThrow("parameter positiveEmbeddings: expected shape [2, 2], received [1, 3]");
    }));

  it("leaves no tensors behind", () =>
    cpu(() => {
      const x = randomBatch(3);
      const [u, pos, uni] = tensors(x);
      const before = tf.memory().numTensors;
      for (let i = 0; i < 5; i++) {
        tf.tidy(() => {
          tf.grads((a: tf.Tensor) => sampledSoftmaxLoss(tfArgs(x, a as tf.Tensor2D, pos, uni)))([u]);
        });
      }
      expect(tf.memory().numTensors).toBe(before);
    }));
});

describe("wasm parity", () => {
  it("loss and all gradients on the wasm backend match cpu", async () => {
    const x = randomBatch(21);
    const [u, pos, uni] = tensors(x);
    const { wasm, cpu: ref } = await onBothBackends(() => {
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        sampledSoftmaxLoss(tfArgs(x, a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor2D));
      const { value, grads } = tf.valueAndGrads(f)([u, pos, uni]);
      return [value, ...grads];
    });
    for (let i = 0; i < ref.length; i++)
      expect(maxViolation(wasm[i], ref[i], 1e-4, 1e-4).excess).toBeLessThanOrEqual(0);
  });
});
