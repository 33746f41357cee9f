/**
 * The lookup tables a request needs from a model folder, read WITHOUT building the tfjs model:
 * the id vocabularies (string → code for items, categories and demographic values) and the item →
 * categories CSR the context rule (`contextFromItems`) reads, and the item → country CSR
 * `filter.country` reads (absent in model folders written before it was stored). The service never touches tfjs; the
 * numeric work runs in onnxruntime (src/onnx), so loading a model for serving costs a JSON parse and
 * three array copies, not a graph build.
 *
 * Shapes: N items (codes 0..N-1, 0 = padding), Cn (item, category) pairs.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { CtxrecError } from "../core/errors.ts";
import { ageBucket } from "../data/dataset.ts";
import { type ModelManifest, type ModelVocabs, readModelManifest } from "../model/artifact.ts";
import {
  ITEM_COUNTRY_CODES,
  ITEM_COUNTRY_OFFSETS,
  itemCountriesFromArrays,
  type ModelItemCountries,
} from "../model/itemCountries.ts";
import type { ItemCategories } from "../train/context.ts";

/** A string → code map built once per bundle (the vocabularies are arrays of names). */
export type CodeMap = ReadonlyMap<string, number>;

/** What a request is resolved against. */
export interface ServingTables {
  manifest: ModelManifest;
  /** Item id → item code (1..N-1). */
  items: CodeMap;
  /** Item code → item id. */
  itemIds: readonly string[];
  /** Category id → category code (≥ 1). */
  categories: CodeMap;
  /** Per demographic field the online graph reads: value → code (1 = missing). */
  demographics: Record<string, CodeMap>;
  /** Item → categories CSR `[N + 1]`, `[Cn]`, `[Cn]`, as stored in the model artifact. */
  features: ItemCategories;
  /** Item → country CSR over item codes; undefined for a folder written before it was stored. */
  itemCountries: ModelItemCountries | undefined;
}

function codeMap(names: readonly string[], from: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = from; i < names.length; i++) m.set(names[i], i);
  return m;
}

/** Reads one named array of weights.bin through the manifest's weight table. */
function readArray(
  weights: Buffer,
  manifest: ModelManifest,
  name: string,
  file: string,
): Int32Array | Float32Array {
  const e = manifest.weights.find((w) => w.name === name);
  if (e === undefined) {
    throw new CtxrecError("CTXREC_ERR_ARTIFACT_CORRUPT", `weight ${name} missing from the weight table`, {
      file,
      field: name,
    });
  }
  const count = e.shape.reduce((a, b) => a * b, 1);
  if (e.offset + 4 * count > weights.length) {
    throw new CtxrecError(
      "CTXREC_ERR_ARTIFACT_CORRUPT",
      `weight ${name} runs past the end of the file; retrain or restore the model folder`,
      { file, field: name },
    );
  }
  // Copy into a fresh aligned buffer: a Buffer slice need not be 4-byte aligned.
  const copy = new Uint8Array(weights.subarray(e.offset, e.offset + 4 * count)).buffer;
  return e.dtype === "i32" ? new Int32Array(copy) : new Float32Array(copy);
}

/**
 * The demographic fields the online graph takes: the context layer embeds a field only when the
 * model has demographics on and the field has a real value (vocabulary size > 2, see
 * `initContextLayer`); the others are not inputs of the graph.
 */
export function servedDemographicFields(manifest: ModelManifest): string[] {
  const c = manifest.config.context;
  if (!c.enabled || !c.demographics) return [];
  return Object.entries(manifest.sizes.demographics)
    .filter(([, size]) => size > 2)
    .map(([field]) => field);
}

/** Reads the serving tables of the model folder `dir`. */
export function readServingTables(dir: string): ServingTables {
  const manifest = readModelManifest(dir);
  const vFile = path.join(dir, "vocab.json");
  const wFile = path.join(dir, "weights.bin");
  for (const f of [vFile, wFile]) {
    if (!existsSync(f)) {
      throw new CtxrecError(
        "CTXREC_ERR_ARTIFACT_CORRUPT",
        "file missing from the model folder; retrain or copy the whole folder",
        { file: f },
      );
    }
  }
  let vocabs: ModelVocabs;
  try {
    vocabs = JSON.parse(readFileSync(vFile, "utf8")) as ModelVocabs;
  } catch (err) {
    throw new CtxrecError("CTXREC_ERR_ARTIFACT_CORRUPT", `not valid JSON (${String(err)}); retrain`, {
      file: vFile,
    });
  }
  const weights = readFileSync(wFile);
  const features: ItemCategories = {
    catOffsets: readArray(weights, manifest, "features/catOffsets", wFile) as Int32Array,
    catIds: readArray(weights, manifest, "features/catIds", wFile) as Int32Array,
    catConf: readArray(weights, manifest, "features/catConf", wFile) as Float32Array,
  };
  // Optional: older folders lack both arrays (itemCountriesFromArrays then returns undefined).
  const optional = (name: string) =>
    manifest.weights.some((w) => w.name === name)
      ? (readArray(weights, manifest, name, wFile) as Int32Array)
      : undefined;
  const itemCountries = itemCountriesFromArrays(
    optional(ITEM_COUNTRY_OFFSETS),
    optional(ITEM_COUNTRY_CODES),
    vocabs,
    wFile,
  );
  const demographics: Record<string, CodeMap> = {};
  // Codes 0 (padding) and 1 (missing) are not values a request may name.
  for (const field of servedDemographicFields(manifest))
    demographics[field] = codeMap(vocabs.demographics[field] ?? [], 2);
  return {
    manifest,
    items: codeMap(vocabs.items, 1),
    itemIds: vocabs.items,
    categories: codeMap(vocabs.categories, 1),
    demographics,
    features,
    itemCountries,
  };
}

/** The vocabulary value of a request's demographic field (ages are bucketed as in the data layer). */
export function demographicValue(field: string, value: string | number): string {
  return field === "age" && typeof value === "number" ? ageBucket(value) : String(value);
}
