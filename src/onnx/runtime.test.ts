/**
 * The ONNX artifact round trip (saveModel → exportOnnx → openOnnxModel), the version and integrity
 * checks of onnx/manifest.json, and the runtime's input validation (wrong length, NaN, codes out
 * of range → CtxrecError naming the field).
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CtxrecError, type ErrorCode } from "../core/errors.ts";
import { Rng } from "../core/rng.ts";
import { tempFolder } from "../data/testFiles.ts";
import { initEngine } from "../engine/backend.ts";
import { loadModel, saveModel } from "../model/artifact.ts";
import { resolveModelConfig } from "../model/config.ts";
import { itemFeaturesOf } from "../model/itemFeatures.ts";
import { createModel, disposeModel, itemReps, userStates } from "../model/model.ts";
import { noContext } from "../model/scorer.ts";
import { sequenceBatch } from "../model/sequences.ts";
import { toyWorld } from "../model/testWorld.ts";
import { vocabSizesOf } from "../model/vocabSizes.ts";
import { exportOnnx } from "./export.ts";
import { readOnnxManifest } from "./manifest.ts";
import { type OnnxModelHandle, openOnnxModel } from "./runtime.ts";

const tmp = tempFolder("ctxrec-onnx-");
const dir = path.join(tmp.dir, "model");
let version: string;
let onnx: OnnxModelHandle;

beforeAll(async () => {
  await initEngine();
  const ds = await toyWorld();
  const config = resolveModelConfig({
    encoder: { dim: 8, heads: 2, ffn: 16, maxLen: 6 },
    context: { dim: 8 },
    fusion: { hidden: 8 },
  });
  const m = createModel(config, vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(3));
  version = saveModel(dir, m, { dataset: ds, createdAt: "2024-01-01T00:00:00.000Z" }).version;
  disposeModel(m);
  await exportOnnx(dir);
  onnx = await openOnnxModel(dir, { threads: 2 });
});

afterAll(async () => {
  await onnx?.close();
  tmp.remove();
});

/** Runs `fn` and returns the CtxrecError it throws (fails the test if it does not). */
async function caught(fn: () => unknown): Promise<CtxrecError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CtxrecError);
    return err as CtxrecError;
  }
  throw new Error("expected a CtxrecError");
}

async function expectError(fn: () => unknown, code: ErrorCode, pattern: RegExp): Promise<void> {
  const err = await caught(fn);
  expect(err.code).toBe(code);
  expect(err.message).toMatch(pattern);
}

describe("ONNX artifact round trip", () => {
  it("the handle carries the model version, d, L and the train-default k", () => {
    expect(onnx.version).toBe(version);
    expect([onnx.dim, onnx.maxLen, onnx.contextK]).toEqual([8, 6, 4]);
    const m = readOnnxManifest(dir);
    expect(m.modelVersion).toBe(version);
    expect(m.opset).toBe(17);
    expect(m.graphs.online.inputs.map((s) => s.name)).toEqual([
      "h",
      "cat_ids",
      "cat_weights",
      "present",
      "demo_age",
    ]);
  });

  it("encoder → online from the saved export equals the loaded tfjs model's userStates (no context)", async () => {
    const { model } = loadModel(dir);
    try {
      // Histories of 3, 6 (= L) and 1 events of the toy cycle; types all 1, gaps bucket 1 / 2.
      const ev = {
        items: Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
        types: new Int32Array(10).fill(1),
        timestamps: Float64Array.from({ length: 10 }, (_, i) => i),
      };
      const starts = Int32Array.from([0, 3, 9]);
      const ends = Int32Array.from([3, 9, 10]);
      const seq = sequenceBatch(ev, starts, ends, starts, 6);
      const h = await onnx.encoder.encode(seq);
      const B = 3;
      const demographics = { age: Int32Array.from([1, 4, 2]) };
      const u = await onnx.online.embed({ B, h, context: noContext(B), demographics });
      const P = B * seq.len;
      const slotDemo = {
        age: Int32Array.from({ length: P }, (_, i) => demographics.age[Math.floor(i / seq.len)]),
      };
      const ref = tf.tidy(() => {
        const reps = itemReps(model, seq.items, model.item.ids.gatherRows(seq.items));
        const local = Int32Array.from({ length: P }, (_, i) => i);
        const all = userStates(
          model,
          seq,
          reps,
          local,
          { input: noContext(P), demographics: slotDemo },
          undefined,
        );
        const last = Int32Array.from(seq.lengths, (n, b) => b * seq.len + n - 1);
        return tf.gather(all, tf.tensor1d(last, "int32")).dataSync();
      });
      let diff = 0;
      for (let i = 0; i < u.length; i++) diff = Math.max(diff, Math.abs(u[i] - ref[i]));
      expect(diff).toBeLessThan(1e-5);
    } finally {
      disposeModel(model);
    }
  });

  it("refuses an export of another model version (CTXREC_ERR_ARTIFACT_VERSION)", async () => {
    const file = path.join(dir, "onnx", "manifest.json");
    const original = readFileSync(file, "utf8");
    try {
      writeFileSync(file, original.replace(version, "0".repeat(64)));
      await expectError(() => openOnnxModel(dir), "CTXREC_ERR_ARTIFACT_VERSION", /modelVersion.*re-export/);
    } finally {
      writeFileSync(file, original);
    }
  });

  it("refuses a graph file that does not match its sha256 (CTXREC_ERR_ARTIFACT_CORRUPT)", async () => {
    const file = path.join(dir, "onnx", "online.onnx");
    const original = readFileSync(file);
    try {
      writeFileSync(file, original.subarray(0, original.length - 1));
      await expectError(() => openOnnxModel(dir), "CTXREC_ERR_ARTIFACT_CORRUPT", /online\.onnx.*sha256/);
    } finally {
      writeFileSync(file, original);
    }
  });

  it("exporting a folder that is not a model names its missing manifest.json", async () => {
    await expectError(
      () => exportOnnx(tmp.dir),
      "CTXREC_ERR_DATA_MISSING_FILE",
      /manifest\.json.*ctxrec train/,
    );
  });

  it("a folder without an export says to run ctxrec export", async () => {
    await expectError(() => openOnnxModel(tmp.dir), "CTXREC_ERR_DATA_MISSING_FILE", /ctxrec export --model/);
  });
});

describe("ONNX runtime input validation", () => {
  const h1 = () => new Float32Array(8);
  const ctx1 = () => ({
    k: 2,
    catIds: Int32Array.from([1, 0]),
    weights: Float32Array.from([1, 0]),
    present: Uint8Array.of(1),
  });

  it("wrong lengths name the field", async () => {
    await expectError(
      () => onnx.online.embed({ B: 1, h: new Float32Array(7), context: ctx1(), demographics: {} }),
      "CTXREC_ERR_SHAPE",
      /OnlineInput\.h \[B, d\].*expected length 8, received 7/,
    );
    await expectError(
      () =>
        onnx.online.embed({
          B: 1,
          h: h1(),
          context: { ...ctx1(), weights: Float32Array.of(1) },
          demographics: {},
        }),
      "CTXREC_ERR_SHAPE",
      /context\.weights/,
    );
    await expectError(
      () => onnx.online.embed({ B: 1, h: h1(), context: ctx1(), demographics: { age: Int32Array.of(1, 1) } }),
      "CTXREC_ERR_SHAPE",
      /demographics\.age/,
    );
    await expectError(
      () =>
        onnx.encoder.encode({
          B: 2,
          len: 2,
          items: new Int32Array(4),
          types: new Int32Array(3),
          gaps: new Int32Array(4),
          lengths: new Int32Array(2),
        }),
      "CTXREC_ERR_SHAPE",
      /EncoderInput\.types/,
    );
  });

  it("NaN in h or in the context weights is refused with the index", async () => {
    const h = h1();
    h[3] = Number.NaN;
    await expectError(
      () => onnx.online.embed({ B: 1, h, context: ctx1(), demographics: {} }),
      "CTXREC_ERR_NUMERIC",
      /OnlineInput\.h.*NaN at index 3/,
    );
    await expectError(
      () =>
        onnx.online.embed({
          B: 1,
          h: h1(),
          context: { ...ctx1(), weights: Float32Array.of(Number.POSITIVE_INFINITY, 0) },
          demographics: {},
        }),
      "CTXREC_ERR_NUMERIC",
      /context\.weights/,
    );
  });

  it("codes outside the vocabularies and lengths past len are refused", async () => {
    await expectError(
      () => onnx.itemTower.embed(Int32Array.of(1, 9999)),
      "CTXREC_ERR_ARG",
      /items.*9999 at index 1/,
    );
    await expectError(
      () =>
        onnx.online.embed({
          B: 1,
          h: h1(),
          context: { ...ctx1(), catIds: Int32Array.of(-1, 0) },
          demographics: {},
        }),
      "CTXREC_ERR_ARG",
      /context\.catIds/,
    );
    await expectError(
      () =>
        onnx.encoder.encode({
          B: 1,
          len: 7,
          items: new Int32Array(7),
          types: new Int32Array(7),
          gaps: new Int32Array(7),
          lengths: Int32Array.of(7),
        }),
      "CTXREC_ERR_ARG",
      /EncoderInput\.len.*\[0, 6\]/,
    );
    await expectError(
      () =>
        onnx.encoder.encode({
          B: 1,
          len: 2,
          items: new Int32Array(2),
          types: new Int32Array(2),
          gaps: new Int32Array(2),
          lengths: Int32Array.of(3),
        }),
      "CTXREC_ERR_ARG",
      /lengths\[0\]/,
    );
  });

  it("an absent demographic field counts as missing (code 1)", async () => {
    const a = await onnx.online.embed({ B: 1, h: h1(), context: ctx1(), demographics: {} });
    const b = await onnx.online.embed({
      B: 1,
      h: h1(),
      context: ctx1(),
      demographics: { age: Int32Array.of(1) },
    });
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  it("an empty batch gives an empty output", async () => {
    expect((await onnx.itemTower.embed(new Int32Array(0))).length).toBe(0);
    const empty = {
      k: 1,
      catIds: new Int32Array(0),
      weights: new Float32Array(0),
      present: new Uint8Array(0),
    };
    expect(
      (await onnx.online.embed({ B: 0, h: new Float32Array(0), context: empty, demographics: {} })).length,
    ).toBe(0);
  });
});
