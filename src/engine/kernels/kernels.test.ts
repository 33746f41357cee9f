import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../../core/rng.ts";
import { causalMask, scaledDotProductAttention } from "../attention.ts";
import { initEngine } from "../backend.ts";
import { maxViolation, onBothBackends } from "../testing/parity.ts";
import { swapIsCheaper } from "./batchMatMul.ts";
import { leadingAxesCount } from "./sum.ts";
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

describe("BatchMatMul swapped arrangement (weight-gradient shapes)", () => {
  it("chooses the swap only when it packs fewer elements", () => {
    // xᵀ·dy with x [12800,64], dy [12800,256], tA: direct = 64·12800 + 2·12800·256 = 7,372,800;
    // swapped = 12800·256 + 64·256 + 2·12800·64 = 4,931,584 → swap.
    expect(swapIsCheaper(64, 12800, 256, true, false)).toBe(true);
    // hᵀ·dy with h [12800,256], dy [12800,64]: direct 4,915,200 < swapped 7,389,184 → direct.
    expect(swapIsCheaper(256, 12800, 64, true, false)).toBe(false);
    // Forward x·W [12800,64]×[64,256]: never swapped.
    expect(swapIsCheaper(12800, 64, 256, false, false)).toBe(false);
  });
  for (const [tA, tB] of [
    [true, false],
    [false, false],
    [false, true],
    [true, true],
  ] as const) {
    it(`[40,3]ᵀ-style long reduction transposeA=${tA} transposeB=${tB}, with gradients`, async () => {
      // M = 3, K = 40, N = 8: swapIsCheaper is true for all but (!tA, !tB) (760 vs 584 for tA only).
      const aShape = tA ? [40, 3] : [3, 40];
      const bShape = tB ? [8, 40] : [40, 8];
      await expectParity(() => {
        const a = rand(aShape, 11);
        const b = rand(bShape, 12);
        const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, tA, tB)));
        const [ga, gb] = tf.grads(f)([a, b]);
        return [tf.matMul(a, b, tA, tB), ga, gb];
      });
    });
  }
});

describe("Identity, Slice, SplitV (copy kernels)", () => {
  it("Identity shares the data and survives disposing either side", () => {
    const x = tf.tensor1d([1, 2, 3]);
    const y = tf.clone(x);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
    y.dispose();
  });
  const slices: [number[], number[], number[]][] = [
    [
      [12, 5],
      [3, 0],
      [4, 5],
    ], // contiguous rows
    [
      [12, 5],
      [2, 1],
      [5, 3],
    ], // columns: strided
    [
      [4, 6, 5],
      [0, 5, 0],
      [4, 1, 5],
    ], // last position of a sequence (encode())
    [
      [3, 4, 5, 2],
      [1, 1, 2, 0],
      [2, 2, 3, 2],
    ],
    [
      [2, 3, 4, 2, 3],
      [1, 0, 1, 1, 0],
      [1, 3, 2, 1, 2],
    ],
  ];
  for (const [shape, begin, size] of slices) {
    it(`Slice [${shape}] from [${begin}] size [${size}], with gradient`, async () => {
      await expectParity(() => {
        const x = rand(shape, 21);
        const w = rand(size, 22);
        return [
          tf.slice(x, begin, size),
          tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.slice(t, begin, size), w)))(x),
        ];
      });
    });
  }
  for (const axis of [0, 1]) {
    it(`SplitV [6,5] sizes [2,3,1]/[1,3,1] on axis ${axis}, with gradient`, async () => {
      const sizes = axis === 0 ? [2, 3, 1] : [1, 3, 1];
      await expectParity(() => {
        const x = rand([6, 5], 23);
        const parts = tf.split(x, sizes, axis);
        const g = tf.grad((t: tf.Tensor) => {
          const [p0, p1, p2] = tf.split(t, sizes, axis);
          return tf.add(tf.add(tf.sum(tf.square(p0)), tf.sum(tf.mul(p1, 3))), tf.sum(p2));
        })(x);
        return [...parts, g];
      });
    });
  }
});

describe("Sum over leading axes", () => {
  it("finds leading reductions only", () => {
    expect(leadingAxesCount([0], 2)).toBe(1);
    expect(leadingAxesCount([1, 0], 3)).toBe(2);
    expect(leadingAxesCount([1], 2)).toBe(0);
    expect(leadingAxesCount([0, 1], 2)).toBe(0); // a full reduction stays upstream
  });
  it("sums rows (hand-computed)", () => {
    // [[1,2],[3,4],[5,6]] over axis 0 → [9, 12]
    expect(Array.from(tf.sum(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]), 0).dataSync())).toEqual([9, 12]);
  });
  const cases: [number[], number | number[], boolean][] = [
    [[50, 7], 0, false],
    [[4, 6, 5], [0, 1], false],
    [[4, 6, 5], 0, true],
    [[4, 6, 5], -1, false],
    [[4, 6, 5], [0, 2], true],
  ];
  for (const [shape, axis, keepDims] of cases) {
    it(`[${shape}] axis ${JSON.stringify(axis)} keepDims=${keepDims}, with gradient`, async () => {
      await expectParity(() => {
        const x = rand(shape, 31);
        return [
          tf.sum(x, axis, keepDims),
          tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.sum(t, axis, keepDims))))(x),
        ];
      });
    });
  }
});

describe("fused scaled dot-product attention", () => {
  for (const masked of [true, false]) {
    it(`values and q, k, v gradients vs cpu (masked=${masked})`, async () => {
      await expectParity(() => {
        const [n, L, dh] = [3, 5, 4];
        const q = rand([n, L, dh], 41) as tf.Tensor3D;
        const k = rand([n, L, dh], 42) as tf.Tensor3D;
        const v = rand([n, L, dh], 43) as tf.Tensor3D;
        const w = rand([n, L, dh], 44);
        const mask = masked ? causalMask(L) : undefined;
        const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
          tf.sum(
            tf.mul(scaledDotProductAttention(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, mask), w),
          );
        return [scaledDotProductAttention(q, k, v, mask), ...tf.grads(f)([q, k, v])];
      });
    });
  }
});
