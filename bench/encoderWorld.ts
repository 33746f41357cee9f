/**
 * The set-up `bench:stream` and `bench:scale` share: a synthetic world (tiny preset with `users`
 * users) and a model of the measured encoder configuration of DESIGN §7 (d = 64, 2 blocks, L = 50;
 * random weights: the encoder's cost does not depend on them), saved and exported to ONNX.
 */
import path from "node:path";
import { Rng } from "../src/core/rng.ts";
import type { CompiledDataset } from "../src/data/dataset.ts";
import { loadDataset } from "../src/data/load.ts";
import { initEngine } from "../src/engine/backend.ts";
import { saveModel } from "../src/model/artifact.ts";
import { resolveModelConfig } from "../src/model/config.ts";
import { itemFeaturesOf } from "../src/model/itemFeatures.ts";
import { createModel, disposeModel } from "../src/model/model.ts";
import { vocabSizesOf } from "../src/model/vocabSizes.ts";
import { exportOnnx } from "../src/onnx/export.ts";
import { generateWorld } from "../src/synth/generate.ts";

/** The encoder configuration the benches measure. */
export const BENCH_ENCODER = { dim: 64, blocks: 2, heads: 2, ffn: 256, maxLen: 50 } as const;

export interface EncoderWorld {
  /** The world's JSONL folder (`--format jsonl --path worldDir`). */
  worldDir: string;
  /** The model folder with its ONNX export. */
  modelDir: string;
  version: string;
  ds: CompiledDataset;
}

/** Writes the world to DIR/world and the model to DIR/model (seed 1 for both). */
export async function encoderWorld(dir: string, users: number): Promise<EncoderWorld> {
  const worldDir = path.join(dir, "world");
  await generateWorld({ preset: "tiny", seed: 1, overrides: { users }, outDir: worldDir });
  const ds = await loadDataset({ format: "jsonl", path: worldDir });
  await initEngine();
  const cfg = resolveModelConfig({
    encoder: { ...BENCH_ENCODER },
    context: { dim: BENCH_ENCODER.dim },
    fusion: { hidden: 2 * BENCH_ENCODER.dim },
  });
  const m = createModel(cfg, vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(1));
  const modelDir = path.join(dir, "model");
  const version = saveModel(modelDir, m, { dataset: ds }).version;
  disposeModel(m);
  await exportOnnx(modelDir);
  return { worldDir, modelDir, version, ds };
}
