import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../core/rng.ts";
import { initEngine } from "./backend.ts";
import { blockVariables, initBlockParams, layerNorm, transformerBlock } from "./blocks.ts";
import { maxViolation, onBothBackends } from "./testing/parity.ts";

// Parity tolerance for a whole pre-norm block (values and every weight gradient) vs the cpu
// backend: |wasm − cpu| ≤ 1e-3 + 1e-3·|cpu| (float32 through layer norm, softmax and 6 matmuls).
const TOL = 1e-3;

beforeAll(async () => {
  await initEngine();
});

describe("layerNorm", () => {
  it("normalises the last axis (hand-computed)", () => {
    // [1,2,3]: mean 2, var 2/3 → (x−2)/√(2/3) = [−1.2247, 0, 1.2247]
    const y = layerNorm(
      tf.tensor2d([1, 2, 3], [1, 3]),
      tf.ones([3]) as tf.Tensor1D,
      tf.zeros([3]) as tf.Tensor1D,
      0,
    );
    const v = Array.from(y.dataSync());
    expect(v[0]).toBeCloseTo(-1.2247, 3);
    expect(v[1]).toBeCloseTo(0, 5);
    expect(v[2]).toBeCloseTo(1.2247, 3);
  });
});

describe("pre-norm Transformer block parity vs cpu", () => {
  for (const seed of [1, 2]) {
    for (const causal of [true, false]) {
      it(`seed ${seed}, causal=${causal}: output and all weight gradients`, async () => {
        const [B, L, d, H, F] = [3, 5, 8, 2, 16];
        const p = initBlockParams(d, F, new Rng(seed), `parity${seed}${causal}`);
        const vars = blockVariables(p);
        const xr = new Rng(seed + 10);
        const x = tf.tensor3d(
          Float32Array.from({ length: B * L * d }, () => xr.normal()),
          [B, L, d],
        );
        const { wasm, cpu } = await onBothBackends(() => {
          const f = () => tf.sum(tf.square(transformerBlock(x, p, { heads: H, causal })));
          const { grads } = tf.variableGrads(f as () => tf.Scalar, vars);
          const xGrad = tf.grad((t: tf.Tensor) =>
            tf.sum(transformerBlock(t as tf.Tensor3D, p, { heads: H, causal })),
          )(x);
          return [transformerBlock(x, p, { heads: H, causal }), xGrad, ...vars.map((v) => grads[v.name])];
        });
        expect(wasm.length).toBe(vars.length + 2);
        wasm.forEach((w, i) => {
          expect(maxViolation(w, cpu[i], TOL, TOL).excess, `output ${i}`).toBeLessThanOrEqual(0);
        });
        tf.dispose([x, ...vars]);
      });
    }
  }
});
