import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../../core/rng.ts";
import { initEngine } from "../backend.ts";
import { maxViolation, onBothBackends } from "../testing/parity.ts";
import { simplifyPermutation } from "./transpose.ts";

// Parity tolerance vs the cpu backend: |wasm − cpu| ≤ 1e-4 + 1e-4·|cpu| (float32, XNNPACK sums
// in another order than the cpu backend's loops).
const ATOL = 1e-4;
const RTOL = 1e-4;

function rand(shape: number[], seed: number): tf.Tensor {
  const r = new Rng(seed);
  return tf.tensor(
    Float32Array.from({ length: tf.util.sizeFromShape(shape) }, () => r.normal()),
    shape,
  );
}

async function expectParity(fn: () => tf.Tensor | tf.Tensor[]) {
  const { wasm, cpu } = await onBothBackends(fn);
  expect(wasm.length).toBe(cpu.length);
  wasm.forEach((w, i) => {
    expect(w.length).toBe(cpu[i].length);
    expect(maxViolation(w, cpu[i], ATOL, RTOL).excess).toBeLessThanOrEqual(0);
  });
}

beforeAll(async () => {
  await initEngine();
});

describe("patched BatchMatMul (values and gradients vs cpu)", () => {
  const cases: { name: string; a: number[]; b: number[] }[] = [
    { name: "2-D", a: [5, 7], b: [7, 3] },
    { name: "broadcast b: [B,L,D]×[D,F]", a: [3, 5, 7], b: [7, 4] },
    { name: "batched (attention)", a: [4, 5, 7], b: [4, 7, 6] },
    { name: "broadcast a: [M,K]×[n,K,N]", a: [5, 7], b: [3, 7, 2] },
    { name: "rank 4", a: [2, 3, 5, 7], b: [2, 3, 7, 4] },
  ];
  for (const c of cases) {
    for (const [tA, tB] of [
      [false, false],
      [false, true],
      [true, false],
      [true, true],
    ] as const) {
      it(`${c.name} transposeA=${tA} transposeB=${tB}`, async () => {
        const swap = (s: number[], t: boolean) =>
          t ? [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]] : s;
        const aShape = swap(c.a, tA);
        const bShape = swap(c.b, tB);
        await expectParity(() => {
          const a = rand(aShape, 1);
          const b = rand(bShape, 2);
          const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, tA, tB)));
          const [ga, gb] = tf.grads(f)([a, b]);
          return [tf.matMul(a, b, tA, tB), ga, gb];
        });
      });
    }
  }
});

describe("UnsortedSegmentSum and gather gradient", () => {
  it("sums rows by segment id (hand-computed)", () => {
    // rows [1,2], [3,4], [5,6] into segments [1, 0, 1] of 3 → [[3,4], [6,8], [0,0]]
    const out = tf.unsortedSegmentSum(
      tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]),
      tf.tensor1d([1, 0, 1], "int32"),
      3,
    );
    expect(Array.from(out.dataSync())).toEqual([3, 4, 6, 8, 0, 0]);
  });
  it("gives the gradient of gather like the cpu backend", async () => {
    await expectParity(() => {
      const table = rand([10, 4], 3);
      const idx = tf.tensor1d([1, 7, 1, 3, 9, 1], "int32");
      const w = rand([6, 4], 4);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, idx), w)))(table);
      return [tf.gather(table, idx), g];
    });
  });
  it("gathers along an inner axis", async () => {
    await expectParity(() => tf.gather(rand([3, 5, 4], 5), tf.tensor1d([4, 0, 2], "int32"), 1));
  });
});

describe("Transpose", () => {
  it("merges axes that stay together", () => {
    // [2,3,4,5] with perm [0,1,3,2]: axes 0,1 merge → [6,4,5] perm [0,2,1]
    expect(simplifyPermutation([2, 3, 4, 5], [0, 1, 3, 2])).toEqual({ shape: [6, 4, 5], perm: [0, 2, 1] });
    expect(simplifyPermutation([2, 1, 3], [2, 1, 0])).toEqual({ shape: [2, 3], perm: [1, 0] });
  });
  const perms: [number[], number[]][] = [
    [
      [37, 45],
      [1, 0],
    ],
    [
      [3, 40, 33],
      [0, 2, 1],
    ],
    [
      [3, 4, 5],
      [1, 0, 2],
    ],
    [
      [2, 3, 4, 5],
      [0, 2, 1, 3],
    ],
    [
      [2, 5, 3, 2, 4],
      [2, 0, 3, 1, 4],
    ],
    [
      [2, 5, 3, 2, 4],
      [4, 3, 2, 1, 0],
    ],
  ];
  for (const [shape, perm] of perms) {
    it(`[${shape}] perm [${perm}] and its gradient`, async () => {
      await expectParity(() => {
        const x = rand(shape, 6);
        const w = rand(
          perm.map((p) => shape[p]),
          7,
        );
        return [
          tf.transpose(x, perm),
          tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.transpose(t, perm), w)))(x),
        ];
      });
    });
  }
});
