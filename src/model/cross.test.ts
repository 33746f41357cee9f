import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { CtxrecError } from "../core/errors.ts";
import { Rng } from "../core/rng.ts";
import { initEngine, withBackend } from "../engine/backend.ts";
import { resolveModelConfig, resolveTowerArgs, type TowerArgs } from "./config.ts";
import {
  type CrossLayerParams,
  crossLayer,
  crossNetwork,
  crossParamCount,
  crossVariables,
  initCrossNetwork,
} from "./cross.ts";

beforeAll(async () => {
  await initEngine();
});

const tower = (over: Partial<TowerArgs> = {}) => resolveTowerArgs({ kind: "dcnv2", ...over });
let names = 0;
const init = (args: TowerArgs, d0: number, seed: number) =>
  initCrossNetwork(args, d0, new Rng(seed), `cross-test${names++}`);
const dispose = (layers: CrossLayerParams[]) => {
  for (const v of crossVariables(layers)) v.dispose();
};

/** Plain-TypeScript reference of one full-rank layer on one row: x0 ⊙ (xl·w + b) + xl. */
function refLayer(x0: number[], xl: number[], w: number[][], b: number[]): number[] {
  return x0.map((x0j, j) => x0j * (xl.reduce((s, xi, i) => s + xi * w[i][j], 0) + b[j]) + xl[j]);
}

describe("crossLayer", () => {
  it("computes x0 ⊙ (xl·W + b) + xl (hand-computed, d0 = 2)", () => {
    const [p] = init(tower({ crossLayers: 1 }), 2, 1);
    p.dense.w.assign(tf.tensor2d([1, 2, 3, 4], [2, 2]));
    p.dense.b.assign(tf.tensor1d([0.5, -1]));
    const x0 = tf.tensor2d([1, 2], [1, 2]);
    const xl = tf.tensor2d([3, -1], [1, 2]);
    // xl·W = [3·1 − 1·3, 3·2 − 1·4] = [0, 2]; + b = [0.5, 1]; x0 ⊙ = [0.5, 2]; + xl = [3.5, 1].
    expect(Array.from(crossLayer(x0, xl, p).dataSync())).toEqual([3.5, 1]);
    expect(
      refLayer(
        [1, 2],
        [3, -1],
        [
          [1, 2],
          [3, 4],
        ],
        [0.5, -1],
      ),
    ).toEqual([3.5, 1]);
    dispose([p]);
  });

  it("a stack of 2 matches the plain-TypeScript reference on random rows (3 seeds)", () => {
    for (const seed of [1, 2, 3]) {
      const d0 = 5;
      const layers = init(tower(), d0, seed);
      const rng = new Rng(100 + seed);
      const rows = Array.from({ length: 3 }, () => Array.from({ length: d0 }, () => rng.normal()));
      const got = crossNetwork(tf.tensor2d(rows), layers).arraySync();
      const mats = layers.map((p) => ({ w: p.dense.w.arraySync(), b: Array.from(p.dense.b.dataSync()) }));
      rows.forEach((x0, n) => {
        const want = mats.reduce((xl, { w, b }) => refLayer(x0, xl, w, b), x0);
        want.forEach((v, j) => {
          expect(got[n][j]).toBeCloseTo(v, 5);
        });
      });
      dispose(layers);
    }
  });

  it("low rank equals full rank with W = V·Uᵀ", () => {
    const d0 = 6;
    const [lo] = init(tower({ crossLayers: 1, crossRank: 2 }), d0, 4);
    const [full] = init(tower({ crossLayers: 1 }), d0, 5);
    full.dense.w.assign(tf.matMul(lo.down as tf.Tensor2D, lo.dense.w));
    full.dense.b.assign(lo.dense.b);
    const rng = new Rng(6);
    const x0 = tf.tensor2d(
      Float32Array.from({ length: 4 * d0 }, () => rng.normal()),
      [4, d0],
    );
    const a = crossLayer(x0, x0, lo).dataSync();
    const b = crossLayer(x0, x0, full).dataSync();
    a.forEach((v, i) => {
      expect(v).toBeCloseTo(b[i], 5);
    });
    dispose([lo, full]);
  });
});

describe("cross stack gradients vs central finite differences (cpu backend, float32)", () => {
  // loss = Σ c ⊙ x_N² (nonlinear in every weight). Central differences with ε = 1e-2 have a
  // truncation error O(ε²·f‴) ≈ 1e-4 here and float32 rounding ≈ 1e-7·|loss|/ε ≈ 1e-4 (|loss| ≈ 10):
  // |analytic − numeric| ≤ 2e-3 + 1e-2·|analytic| separates a right gradient from a wrong one
  // (the largest partials are O(1–10)).
  for (const rank of [0, 2]) {
    it(`rank ${rank}: every weight and the input`, async () => {
      await withBackend("cpu", () => {
        const d0 = 4;
        const layers = init(tower({ crossRank: rank }), d0, 7 + rank);
        const rng = new Rng(8);
        const x0 = tf.variable(
          tf.tensor2d(
            Float32Array.from({ length: 3 * d0 }, () => rng.normal()),
            [3, d0],
          ),
        );
        const c = tf.tensor2d(
          Float32Array.from({ length: 3 * d0 }, () => rng.normal()),
          [3, d0],
        );
        const loss = () => tf.sum(tf.mul(c, tf.square(crossNetwork(x0, layers)))) as tf.Scalar;
        const vars = [...crossVariables(layers), x0];
        const { grads } = tf.variableGrads(loss, vars);
        const eps = 1e-2;
        let largest = 0;
        for (const v of vars) {
          const base = v.dataSync().slice();
          const g = grads[v.name].dataSync();
          for (let i = 0; i < base.length; i++) {
            const at = (delta: number) => {
              const x = base.slice();
              x[i] += delta;
              v.assign(tf.tensor(x, v.shape));
              return loss().dataSync()[0];
            };
            const numeric = (at(eps) - at(-eps)) / (2 * eps);
            v.assign(tf.tensor(base, v.shape));
            expect(Math.abs(g[i] - numeric)).toBeLessThan(2e-3 + 1e-2 * Math.abs(g[i]));
            largest = Math.max(largest, Math.abs(g[i]));
          }
        }
        expect(largest).toBeGreaterThan(0.5);
        dispose(layers);
        x0.dispose();
      });
    });
  }
});

describe("cross stack initialisation and size", () => {
  it("is seeded: same seed ⇒ same weights, another seed ⇒ others", () => {
    const values = (seed: number) => {
      const layers = init(tower({ crossRank: 3 }), 5, seed);
      const out = crossVariables(layers).map((v) => Array.from(v.dataSync()));
      dispose(layers);
      return out;
    };
    expect(values(1)).toEqual(values(1));
    expect(values(1)).not.toEqual(values(2));
  });

  it("crossParamCount matches the variables (full rank and rank r)", () => {
    for (const args of [tower(), tower({ crossLayers: 3, crossRank: 4 })]) {
      const layers = init(args, 10, 1);
      const n = crossVariables(layers).reduce((s, v) => s + v.size, 0);
      expect(n).toBe(crossParamCount(args, 10));
      dispose(layers);
    }
    // d0 = 64, 2 layers: full rank 2·(64² + 64) = 8320; rank 8: 2·(2·64·8 + 64) = 2176.
    expect(crossParamCount(tower(), 64)).toBe(8320);
    expect(crossParamCount(tower({ crossRank: 8 }), 64)).toBe(2176);
  });
});

describe("tower config", () => {
  it("mlp leaves no tower field in the config (an mlp artifact is unchanged); dcnv2 is filled in", () => {
    expect("tower" in resolveModelConfig()).toBe(false);
    expect("tower" in resolveModelConfig({ tower: { kind: "mlp" } })).toBe(false);
    expect(resolveModelConfig({ tower: { kind: "dcnv2" } }).tower).toEqual({
      kind: "dcnv2",
      crossLayers: 2,
      crossRank: 0,
    });
  });

  it("refuses bad values and cross options without dcnv2, naming the field", () => {
    expect(() => resolveTowerArgs({ kind: "dcn" as "mlp" })).toThrowError(/tower\.kind/);
    expect(() => tower({ crossLayers: 0 })).toThrowError(/tower\.crossLayers/);
    expect(() => tower({ crossRank: -1 })).toThrowError(/tower\.crossRank/);
    expect(() => resolveTowerArgs({ crossRank: 4 })).toThrowError(CtxrecError);
  });
});
