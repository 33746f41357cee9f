/**
 * Exports a model to ONNX: the sequence encoder, the online part and the item tower, each a graph
 * written from the model definition (encoder.ts, online.ts, itemTower.ts), plus onnx/manifest.json
 * tying them to the model's `manifest.version`. Files are written atomically one by one and the
 * manifest last, with each graph's sha256: a reader that races a re-export sees a hash mismatch
 * (CTXREC_ERR_ARTIFACT_CORRUPT), never silently a mix of two models.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../core/atomicFile.ts";
import { initEngine } from "../engine/backend.ts";
import { loadModel } from "../model/artifact.ts";
import { GAP_BUCKETS } from "../model/encoder.ts";
import { type CtxrecModel, disposeModel } from "../model/model.ts";
import { IR_VERSION, OPSET } from "./builder.ts";
import { buildEncoderGraph, encoderInputSpecs, encoderOutputSpecs } from "./encoder.ts";
import { buildItemTowerGraph, itemTowerInputSpecs, itemTowerOutputSpecs } from "./itemTower.ts";
import {
  GRAPH_NAMES,
  type GraphName,
  ONNX_DIR,
  ONNX_FORMAT,
  ONNX_FORMAT_VERSION,
  type OnnxExportManifest,
  type OnnxModelMeta,
  sha256,
} from "./manifest.ts";
import { assertServable, buildOnlineGraph, onlineInputSpecs, onlineOutputSpecs } from "./online.ts";
import { type OnnxGraphs, openItemTowerGraph } from "./runtime.ts";

/** Context slots of the train default (src/train/context.ts PSEUDO_CONTEXT_DEFAULTS.k). */
export const DEFAULT_CONTEXT_K = 4;

/** Sizes and options of `m` the runtime validates against. */
export function onnxModelMeta(m: CtxrecModel, contextK = DEFAULT_CONTEXT_K): OnnxModelMeta {
  return {
    dim: m.config.encoder.dim,
    maxLen: m.config.encoder.maxLen,
    contextK,
    items: m.item.ids.rows,
    categories: m.sizes.categories,
    types: m.sizes.types,
    gapBuckets: GAP_BUCKETS,
    contextLayer: m.context !== undefined,
    demographics: (m.context?.demographics ?? []).map(({ field, table }) => ({
      field,
      size: table.shape[0],
    })),
    l2Normalize: m.config.itemTower.l2Normalize,
  };
}

/** Threads of the one-off item-tower run that fills the encoder's item table. */
const EXPORT_THREADS = 2;

/**
 * Every item's embedding [N, d] from the item-tower graph itself (onnxruntime): measured at 1M
 * items on this machine, ≈5 s against ≈160 s for the tfjs `allItemEmbeddings`, and the encoder
 * then reads exactly the vectors the ANN index is built from.
 */
export async function itemTableOf(itemTowerGraph: Uint8Array, m: CtxrecModel): Promise<Float32Array> {
  const tower = await openItemTowerGraph(
    itemTowerGraph,
    { items: m.item.ids.rows, dim: m.config.encoder.dim },
    EXPORT_THREADS,
  );
  try {
    return await tower.embedAll();
  } finally {
    await tower.close();
  }
}

/** The three serialized graphs of `m` and their manifest (nothing written). */
export async function buildOnnxExport(
  m: CtxrecModel,
  modelVersion: string,
  contextK = DEFAULT_CONTEXT_K,
  createdAt = new Date().toISOString(),
): Promise<{ graphs: OnnxGraphs; manifest: OnnxExportManifest }> {
  assertServable(m);
  const itemTower = buildItemTowerGraph(m);
  const graphs: OnnxGraphs = {
    encoder: buildEncoderGraph(m, await itemTableOf(itemTower, m)),
    online: buildOnlineGraph(m),
    itemTower,
  };
  const specs: Record<GraphName, Pick<OnnxExportManifest["graphs"][GraphName], "inputs" | "outputs">> = {
    encoder: { inputs: encoderInputSpecs(m), outputs: encoderOutputSpecs(m) },
    online: { inputs: onlineInputSpecs(m), outputs: onlineOutputSpecs(m) },
    itemTower: { inputs: itemTowerInputSpecs(), outputs: itemTowerOutputSpecs(m) },
  };
  const entries = Object.fromEntries(
    GRAPH_NAMES.map((name) => [name, { file: `${name}.onnx`, sha256: sha256(graphs[name]), ...specs[name] }]),
  ) as OnnxExportManifest["graphs"];
  const manifest: OnnxExportManifest = {
    format: ONNX_FORMAT,
    formatVersion: ONNX_FORMAT_VERSION,
    modelVersion,
    opset: OPSET,
    irVersion: IR_VERSION,
    ...onnxModelMeta(m, contextK),
    graphs: entries,
    createdAt,
  };
  return { graphs, manifest };
}

/** The training context's k recorded in the model manifest (training.args.pseudoContext.k), else 4. */
function contextKOf(training: Record<string, unknown>): number {
  const args = training.args as { pseudoContext?: { k?: unknown } } | undefined;
  const k = args?.pseudoContext?.k;
  return typeof k === "number" && Number.isInteger(k) && k >= 1 ? k : DEFAULT_CONTEXT_K;
}

/**
 * Writes <modelDir>/onnx/{encoder,online,itemTower}.onnx + onnx/manifest.json (model version,
 * input/output names, opset) atomically. Refuses a cross-attention model (CTXREC_ERR_ARG).
 */
export async function exportOnnx(modelDir: string): Promise<OnnxExportManifest> {
  await initEngine();
  const { model, manifest: modelManifest } = loadModel(modelDir);
  try {
    const { graphs, manifest } = await buildOnnxExport(
      model,
      modelManifest.version,
      contextKOf(modelManifest.training),
    );
    const dir = path.join(modelDir, ONNX_DIR);
    mkdirSync(dir, { recursive: true });
    for (const name of GRAPH_NAMES) writeFileAtomic(path.join(dir, manifest.graphs[name].file), graphs[name]);
    writeJsonAtomic(path.join(dir, "manifest.json"), manifest);
    return manifest;
  } finally {
    disposeModel(model);
  }
}
