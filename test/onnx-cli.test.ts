/**
 * End-to-end: `ctxrec train` writes the ONNX exports beside the model, `ctxrec export --model`
 * rewrites them byte for byte (the export is deterministic), and the exported graphs served by
 * onnxruntime give the loaded tfjs model's item embeddings and cached states.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../src/core/rng.ts";
import { initEngine } from "../src/engine/backend.ts";
import { loadModel } from "../src/model/artifact.ts";
import { encodeSequence } from "../src/model/encoder.ts";
import { allItemEmbeddings } from "../src/model/itemTower.ts";
import { disposeModel, itemReps } from "../src/model/model.ts";
import { readOnnxManifest } from "../src/onnx/manifest.ts";
import { openOnnxModel } from "../src/onnx/runtime.ts";
import { randomHistories } from "../src/onnx/testModels.ts";
import { ctxrec } from "./cli.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-onnx-e2e-"));
const model = path.join(tmp, "model");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

beforeAll(async () => {
  await initEngine();
  const world = path.join(tmp, "world");
  expect(ctxrec(["synth", "--preset", "tiny", "--out", world]).status).toBe(0);
  const t = ctxrec([
    ...["train", "--format", "jsonl", "--path", world, "--out", model],
    ...["--dim", "16", "--blocks", "1", "--max-len", "10", "--negatives", "64", "--epochs", "1", "--no-test"],
  ]);
  expect(t.stderr + t.stdout).toMatch(/wrote /);
  expect(t.status).toBe(0);
});

describe("ctxrec train / export → ONNX", () => {
  it("train wrote onnx/ for its model version; export rewrites the same bytes", () => {
    const before = readOnnxManifest(model);
    const version = JSON.parse(readFileSync(path.join(model, "manifest.json"), "utf8")).version;
    expect(before.modelVersion).toBe(version);
    const e = ctxrec(["export", "--model", model]);
    expect(e.status).toBe(0);
    expect(e.stdout).toMatch(/wrote .*onnx\/ \(model version [0-9a-f]{12}, opset 17\)/);
    const after = readOnnxManifest(model);
    for (const name of ["encoder", "online", "itemTower"] as const)
      expect(after.graphs[name].sha256).toBe(before.graphs[name].sha256);
  });

  it("the served graphs give the loaded model's item embeddings and encoder states (≤ 1e-5)", async () => {
    const { model: m } = loadModel(model);
    const onnx = await openOnnxModel(model);
    try {
      const all = await onnx.itemTower.embedAll();
      const ref = allItemEmbeddings(m.item, m.features);
      let diff = 0;
      for (let i = 0; i < ref.length; i++) diff = Math.max(diff, Math.abs(all[i] - ref[i]));
      expect(diff).toBeLessThan(1e-5);

      const x = randomHistories(m, [10, 4, 0, 7], new Rng(2));
      const h = await onnx.encoder.encode(x);
      const mask = Float32Array.from(x.items, (_, i) =>
        i % x.len < x.lengths[Math.floor(i / x.len)] ? 1 : 0,
      );
      const want = tf.tidy(() => {
        const reps = itemReps(m, x.items, m.item.ids.gatherRows(x.items));
        const hs = tf.reshape(encodeSequence(m.encoder, { ...x, mask }, reps, undefined), [-1, 16]);
        const last = Int32Array.from(x.lengths, (n, b) => b * x.len + Math.max(0, n - 1));
        return tf.gather(hs, tf.tensor1d(last, "int32")).dataSync();
      });
      diff = 0;
      for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(h[i] - want[i]));
      expect(diff).toBeLessThan(1e-5);
    } finally {
      await onnx.close();
      disposeModel(m);
    }
  });
});
