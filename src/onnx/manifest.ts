/**
 * `<modelDir>/onnx/manifest.json`: ties the three ONNX graphs to the model artifact they were
 * exported from (its `manifest.version`), lists every graph's inputs/outputs and the sha256 of each
 * file, and carries the sizes the runtime validates inputs against. Reading refuses an export of
 * another model version (CTXREC_ERR_ARTIFACT_VERSION) and a file whose hash does not match
 * (CTXREC_ERR_ARTIFACT_CORRUPT: a half-finished re-export).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { CtxrecError } from "../core/errors.ts";
import { readModelManifest } from "../model/artifact.ts";
import type { ValueSpec } from "./builder.ts";

export const ONNX_FORMAT = "ctxrec-onnx";
export const ONNX_FORMAT_VERSION = 1;
/** Folder of the exports inside a model folder. */
export const ONNX_DIR = "onnx";
export const GRAPH_NAMES = ["encoder", "online", "itemTower"] as const;
export type GraphName = (typeof GRAPH_NAMES)[number];

/** One exported graph. */
export interface GraphEntry {
  /** File name inside onnx/. */
  file: string;
  /** sha256 hex of the file. */
  sha256: string;
  inputs: ValueSpec[];
  outputs: ValueSpec[];
}

/** Sizes and options the runtime needs (validation, padding, context slots). */
export interface OnnxModelMeta {
  /** d */
  dim: number;
  /** L */
  maxLen: number;
  /** k slots of the training context (the train default is 4); the graph accepts any k ≥ 1. */
  contextK: number;
  /** N items (codes 0..N-1, 0 = padding). */
  items: number;
  /** C categories (codes 0..C-1, 0 = empty slot). */
  categories: number;
  /** Event-type codes 0..types-1. */
  types: number;
  /** Gap buckets 0..gapBuckets-1. */
  gapBuckets: number;
  /** Whether the online graph has a context layer (false: the non-contextual baseline). */
  contextLayer: boolean;
  /** The demographic fields the online graph embeds, with their code counts. */
  demographics: { field: string; size: number }[];
  l2Normalize: boolean;
}

export interface OnnxExportManifest extends OnnxModelMeta {
  format: typeof ONNX_FORMAT;
  formatVersion: number;
  /** The model artifact's manifest.version this export was made from. */
  modelVersion: string;
  opset: number;
  irVersion: number;
  graphs: Record<GraphName, GraphEntry>;
  createdAt: string;
}

export const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/** Reads onnx/manifest.json of a model folder and checks it against the model's own manifest. */
export function readOnnxManifest(modelDir: string): OnnxExportManifest {
  const file = path.join(modelDir, ONNX_DIR, "manifest.json");
  if (!existsSync(file)) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_MISSING_FILE",
      `no ONNX export in this model folder; run \`ctxrec export --model ${modelDir}\``,
      { file },
    );
  }
  let m: OnnxExportManifest;
  try {
    m = JSON.parse(readFileSync(file, "utf8")) as OnnxExportManifest;
  } catch (err) {
    throw new CtxrecError(
      "CTXREC_ERR_ARTIFACT_CORRUPT",
      `not valid JSON (${String(err)}); re-export with \`ctxrec export --model ${modelDir}\``,
      { file },
    );
  }
  if (m.format !== ONNX_FORMAT || m.formatVersion !== ONNX_FORMAT_VERSION) {
    throw new CtxrecError(
      "CTXREC_ERR_ARTIFACT_VERSION",
      `format ${JSON.stringify(m.format)} version ${m.formatVersion}; this ctxrec reads ${ONNX_FORMAT} version ${ONNX_FORMAT_VERSION}: re-export with \`ctxrec export --model ${modelDir}\``,
      { file, field: "formatVersion" },
    );
  }
  const model = readModelManifest(modelDir);
  if (m.modelVersion !== model.version) {
    throw new CtxrecError(
      "CTXREC_ERR_ARTIFACT_VERSION",
      `ONNX export of model version ${String(m.modelVersion).slice(0, 12)}… but the model folder holds version ${model.version.slice(0, 12)}…; re-export with \`ctxrec export --model ${modelDir}\``,
      { file, field: "modelVersion" },
    );
  }
  return m;
}

/** The bytes of one graph, checked against the manifest's sha256. */
export function readGraphFile(modelDir: string, m: OnnxExportManifest, name: GraphName): Uint8Array {
  const entry = m.graphs?.[name];
  const file = path.join(modelDir, ONNX_DIR, entry?.file ?? `${name}.onnx`);
  if (entry === undefined || !existsSync(file)) {
    throw new CtxrecError(
      "CTXREC_ERR_ARTIFACT_CORRUPT",
      `graph ${name} missing from the ONNX export; re-export with \`ctxrec export --model ${modelDir}\``,
      { file, field: `graphs.${name}` },
    );
  }
  const bytes = readFileSync(file);
  const hash = sha256(bytes);
  if (hash !== entry.sha256) {
    throw new CtxrecError(
      "CTXREC_ERR_ARTIFACT_CORRUPT",
      `sha256 ${hash.slice(0, 12)}… does not match the manifest's ${entry.sha256.slice(0, 12)}… (changed, truncated or a re-export in progress); re-export with \`ctxrec export --model ${modelDir}\``,
      { file, field: `graphs.${name}.sha256` },
    );
  }
  return bytes;
}
