/**
 * The model artifact (DESIGN §4): a folder with
 *   manifest.json  format + format version, version (= content hash), config, vocabulary sizes,
 *                  data fingerprint, metrics, training summary, createdAt, weight table
 *   weights.bin    little-endian float32 / int32 arrays back to back (8-byte aligned), named and
 *                  shaped by the manifest's weight table (dense variables, the id table, item features)
 *   vocab.json     the id vocabularies (items, categories, event types, demographic fields, and the
 *                  country vocabulary of the item countries)
 * weights.bin also holds the item → country CSR (src/model/itemCountries.ts), so a model folder alone
 * serves `filter.country`.
 * The version is sha256(weights.bin ‖ vocab.json ‖ canonical config): any change to a weight, a
 * vocabulary or the configuration gives another version. Written atomically: everything goes to a
 * temp folder beside the target, is fsynced, and replaces the target by rename. Loading checks the
 * format version (CTXREC_ERR_ARTIFACT_VERSION) and the hash (CTXREC_ERR_ARTIFACT_CORRUPT).
 */
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { CtxrecError } from "../core/errors.ts";
import { Rng } from "../core/rng.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import { DEMOGRAPHIC_FIELDS } from "../data/schema.ts";
import {
  type ModelConfig,
  type ModelConfigOverrides,
  resolveModelConfig,
  type VocabSizes,
} from "./config.ts";
import {
  ITEM_COUNTRY_CODES,
  ITEM_COUNTRY_OFFSETS,
  itemCountriesFromArrays,
  itemCountryArraysOf,
  type ModelItemCountries,
} from "./itemCountries.ts";
import { withMax } from "./itemFeatures.ts";
import { type CtxrecModel, createModel, modelVariables } from "./model.ts";

export const MODEL_FORMAT = "ctxrec-model";
/**
 * Unchanged by the item countries (weights "items/countryOffsets", "items/countries" and
 * vocab.json `countries`): they are additive, readers treat their absence as "countries unknown",
 * so folders written before them still load.
 */
export const MODEL_FORMAT_VERSION = 1;

/** One array in weights.bin. */
export interface WeightEntry {
  /** Variable name without the instance prefix (e.g. "encoder/block0/ffn/w1"). */
  name: string;
  dtype: "f32" | "i32";
  shape: number[];
  /** Byte offset in weights.bin. */
  offset: number;
}

export interface ModelManifest {
  format: typeof MODEL_FORMAT;
  formatVersion: number;
  /** sha256 hex of weights.bin ‖ vocab.json ‖ JSON(config). */
  version: string;
  config: ModelConfig;
  sizes: VocabSizes;
  /** sha256 of the data set's items, offsets and item vocabulary (see `dataFingerprint`). */
  dataFingerprint: string;
  data: CompiledDataset["source"];
  /** Evaluation figures (e.g. validation and test under loo), free-form numbers. */
  metrics: Record<string, number>;
  /** Training summary (epochs, minutes, seed, args). */
  training: Record<string, unknown>;
  createdAt: string;
  weights: WeightEntry[];
}

/** Vocabularies stored with the model. */
export interface ModelVocabs {
  items: string[];
  categories: string[];
  types: string[];
  demographics: Record<string, string[]>;
  /**
   * The country vocabulary the stored item country codes refer to (the data set's, shared with the
   * users' country); absent in folders written before item countries were stored.
   */
  countries?: string[];
}

export function vocabsOf(ds: CompiledDataset): ModelVocabs {
  const demographics: Record<string, string[]> = {};
  for (const f of DEMOGRAPHIC_FIELDS) demographics[f] = ds.demographics[f].vocab.names;
  return {
    items: ds.itemVocab.names,
    categories: ds.categoryVocab.names,
    types: ds.typeVocab.names,
    demographics,
    countries: ds.demographics.country.vocab.names,
  };
}

/** A fingerprint of the training data: sha256 over the item vocabulary, CSR offsets and events. */
export function dataFingerprint(ds: CompiledDataset): string {
  const h = createHash("sha256");
  h.update(JSON.stringify(ds.itemVocab.names));
  h.update(Buffer.from(ds.offsets.buffer, ds.offsets.byteOffset, ds.offsets.byteLength));
  h.update(Buffer.from(ds.items.buffer, ds.items.byteOffset, ds.items.byteLength));
  return h.digest("hex");
}

const pad8 = (n: number) => (n + 7) & ~7;

/** Named arrays of a model, prefix stripped, in a stable order. */
function namedArrays(m: CtxrecModel): { name: string; shape: number[]; data: Float32Array | Int32Array }[] {
  const strip = (n: string) => (n.startsWith(m.prefix) ? n.slice(m.prefix.length) : n);
  return [
    ...modelVariables(m).map((v) => ({
      name: strip(v.name),
      shape: v.shape,
      data: v.dataSync() as Float32Array,
    })),
    { name: "item/ids", shape: [m.item.ids.rows, m.item.ids.dim], data: m.item.ids.values },
    { name: "features/catOffsets", shape: [m.features.catOffsets.length], data: m.features.catOffsets },
    { name: "features/catIds", shape: [m.features.catIds.length], data: m.features.catIds },
    { name: "features/catConf", shape: [m.features.catConf.length], data: m.features.catConf },
  ];
}

function contentVersion(weights: Buffer, vocab: Buffer, config: ModelConfig): string {
  return createHash("sha256").update(weights).update(vocab).update(JSON.stringify(config)).digest("hex");
}

function writeFileSynced(file: string, data: Buffer | string): void {
  const fd = openSync(file, "w");
  try {
    writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface SaveModelArgs {
  dataset: CompiledDataset;
  metrics?: Record<string, number>;
  training?: Record<string, unknown>;
  /** Creation time (default now); fixed in tests for byte-identical artifacts. */
  createdAt?: string;
}

/** Writes the model folder atomically to `dir` (replacing it). Returns the manifest. */
export function saveModel(dir: string, m: CtxrecModel, args: SaveModelArgs): ModelManifest {
  const arrays = [...namedArrays(m), ...itemCountryArraysOf(args.dataset)];
  const entries: WeightEntry[] = [];
  let size = 0;
  for (const a of arrays) {
    entries.push({
      name: a.name,
      dtype: a.data instanceof Int32Array ? "i32" : "f32",
      shape: a.shape,
      offset: size,
    });
    size = pad8(size + a.data.byteLength);
  }
  const weights = Buffer.alloc(size);
  arrays.forEach((a, i) => {
    Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).copy(weights, entries[i].offset);
  });
  const vocab = Buffer.from(JSON.stringify(vocabsOf(args.dataset)));
  const manifest: ModelManifest = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    version: contentVersion(weights, vocab, m.config),
    config: m.config,
    sizes: m.sizes,
    dataFingerprint: dataFingerprint(args.dataset),
    data: args.dataset.source,
    metrics: args.metrics ?? {},
    training: args.training ?? {},
    createdAt: args.createdAt ?? new Date().toISOString(),
    weights: entries,
  };
  const target = path.resolve(dir);
  mkdirSync(path.dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp);
  try {
    writeFileSynced(path.join(tmp, "weights.bin"), weights);
    writeFileSynced(path.join(tmp, "vocab.json"), vocab);
    writeFileSynced(path.join(tmp, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    // rename cannot replace a non-empty folder: move the old one aside first, drop it after.
    const old = `${target}.old-${process.pid}-${Date.now()}`;
    const hadOld = existsSync(target);
    if (hadOld) renameSync(target, old);
    renameSync(tmp, target);
    if (hadOld) rmSync(old, { recursive: true, force: true });
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return manifest;
}

/** Reads and checks a manifest (format, format version). */
export function readModelManifest(dir: string): ModelManifest {
  const file = path.join(dir, "manifest.json");
  if (!existsSync(file)) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_MISSING_FILE",
      "no manifest.json: not a model folder (train one with `ctxrec train --out DIR`)",
      { file },
    );
  }
  let manifest: ModelManifest;
  try {
    manifest = JSON.parse(readFileSync(file, "utf8")) as ModelManifest;
  } catch (err) {
    throw new CtxrecError(
      "CTXREC_ERR_ARTIFACT_CORRUPT",
      `manifest is not valid JSON (${String(err)}); retrain the model`,
      { file },
    );
  }
  if (manifest.format !== MODEL_FORMAT || manifest.formatVersion !== MODEL_FORMAT_VERSION) {
    throw new CtxrecError(
      "CTXREC_ERR_ARTIFACT_VERSION",
      `format ${JSON.stringify(manifest.format)} version ${manifest.formatVersion}; this ctxrec reads ${MODEL_FORMAT} version ${MODEL_FORMAT_VERSION}: retrain the model or use the ctxrec that wrote it`,
      { file, field: "formatVersion" },
    );
  }
  return manifest;
}

/** A loaded model with its manifest and vocabularies. */
export interface LoadedModel {
  model: CtxrecModel;
  manifest: ModelManifest;
  vocabs: ModelVocabs;
  /** Item eligibility by country; undefined for a folder written before it was stored. */
  itemCountries: ModelItemCountries | undefined;
}

/** Loads a model folder, verifying the format version and the content hash. */
export function loadModel(dir: string): LoadedModel {
  const manifest = readModelManifest(dir);
  const wFile = path.join(dir, "weights.bin");
  const vFile = path.join(dir, "vocab.json");
  for (const f of [wFile, vFile]) {
    if (!existsSync(f))
      throw new CtxrecError(
        "CTXREC_ERR_ARTIFACT_CORRUPT",
        "file missing from the model folder; retrain or copy the whole folder",
        { file: f },
      );
  }
  const weights = readFileSync(wFile);
  const vocab = readFileSync(vFile);
  const config = resolveModelConfig(withLegacyFields(manifest.config));
  const version = contentVersion(weights, vocab, manifest.config);
  if (version !== manifest.version) {
    throw new CtxrecError(
      "CTXREC_ERR_ARTIFACT_CORRUPT",
      `content hash ${version.slice(0, 12)}… does not match the manifest's version ${manifest.version.slice(0, 12)}…: the weights, vocabularies or config were changed or truncated; retrain or restore the folder`,
      { file: wFile, field: "version" },
    );
  }
  const arrays = new Map<string, Float32Array | Int32Array>();
  for (const e of manifest.weights) {
    const count = e.shape.reduce((a, b) => a * b, 1);
    const bytes = weights.subarray(e.offset, e.offset + count * 4);
    // Copy into a fresh aligned buffer (a Buffer slice need not be 4-byte aligned).
    const copy = new Uint8Array(bytes).buffer;
    arrays.set(e.name, e.dtype === "i32" ? new Int32Array(copy) : new Float32Array(copy));
  }
  const get = (name: string) => {
    const a = arrays.get(name);
    if (a === undefined)
      throw new CtxrecError("CTXREC_ERR_ARTIFACT_CORRUPT", `weight ${name} missing from the weight table`, {
        file: wFile,
        field: name,
      });
    return a;
  };
  const features = withMax(
    get("features/catOffsets") as Int32Array,
    get("features/catIds") as Int32Array,
    get("features/catConf") as Float32Array,
  );
  // Initial values are overwritten below; the seed only has to be valid.
  const model = createModel(config, manifest.sizes, features, new Rng(0));
  for (const v of modelVariables(model)) {
    const name = v.name.slice(model.prefix.length);
    const data = get(name);
    const want = v.shape.reduce((a, b) => a * b, 1);
    if (data.length !== want)
      throw new CtxrecError(
        "CTXREC_ERR_ARTIFACT_CORRUPT",
        `weight ${name} has ${data.length} values, the config needs ${want}`,
        { file: wFile, field: name },
      );
    tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
  }
  model.item.ids.values.set(get("item/ids"));
  const vocabs = JSON.parse(vocab.toString("utf8")) as ModelVocabs;
  const itemCountries = itemCountriesFromArrays(
    arrays.get(ITEM_COUNTRY_OFFSETS) as Int32Array | undefined,
    arrays.get(ITEM_COUNTRY_CODES) as Int32Array | undefined,
    vocabs,
    wFile,
  );
  return { model, manifest, vocabs, itemCountries };
}

/**
 * Fields added to the config after artifacts were first written take, when absent, the value
 * that reproduces what those artifacts were trained with, not today's default.
 */
function withLegacyFields(config: ModelConfigOverrides): ModelConfigOverrides {
  return {
    ...config,
    encoder: { positions: "start", ...config.encoder },
    context: { subjectItem: false, ...config.context },
  };
}
