/**
 * Binary artifact of a CompiledDataset: ONE file, written atomically (temp file + fsync + rename),
 * that reloads without parsing.
 *
 * The file is a ctxrec container (magic "CTXRECDS", layout in src/core/container.ts): the header
 * holds the source, vocabularies, report and each array's dtype; every typed array is a section of
 * raw little-endian bytes.
 */

import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../core/atomicFile.ts";
import {
  bytesOf,
  type ContainerKind,
  decodeContainer,
  encodeContainer,
  typedSection,
} from "../core/container.ts";
import { CtxrecError } from "../core/errors.ts";
import type { CompiledDataset, DataReport, DemographicColumn } from "./dataset.ts";
import { DEMOGRAPHIC_FIELDS, type DemographicField } from "./schema.ts";
import { Vocab } from "./vocab.ts";

export const ARTIFACT_MAGIC = "CTXRECDS";
export const ARTIFACT_VERSION = 1;

const KIND: ContainerKind = {
  magic: ARTIFACT_MAGIC,
  format: ARTIFACT_VERSION,
  name: "dataset artifact",
  rebuild: "rebuild the artifact from the source data",
};

type DType = "i32" | "f32" | "f64";
type Typed = Int32Array | Float32Array | Float64Array;

/** The container header: where the data came from, the vocabularies, the report, each array's type. */
interface Header {
  source: CompiledDataset["source"];
  vocabs: Record<string, string[]>;
  report: DataReport;
  dtypes: Record<string, DType>;
}

const ARRAYS = [
  "offsets",
  "items",
  "timestamps",
  "types",
  "catOffsets",
  "catIds",
  "catConf",
  "itemAdvertiser",
  "itemBid",
  "itemCountryOffsets",
  "itemCountries",
  "userAge",
] as const satisfies readonly (keyof CompiledDataset)[];

const CTORS = { i32: Int32Array, f32: Float32Array, f64: Float64Array } as const;

function dtypeOf(a: Typed): DType {
  if (a instanceof Int32Array) return "i32";
  if (a instanceof Float32Array) return "f32";
  return "f64";
}

/** Serializes a dataset to the artifact bytes (one container: see src/core/container.ts). */
export function encodeDataset(ds: CompiledDataset): Buffer {
  return Buffer.concat(encodeParts(ds));
}

function encodeParts(ds: CompiledDataset): Uint8Array[] {
  const arrays: [string, Typed][] = ARRAYS.map((k) => [k, ds[k]]);
  for (const f of DEMOGRAPHIC_FIELDS) arrays.push([`demo.${f}`, ds.demographics[f].codes]);
  const vocabs: Record<string, string[]> = {
    user: ds.userVocab.names,
    item: ds.itemVocab.names,
    category: ds.categoryVocab.names,
    type: ds.typeVocab.names,
    advertiser: ds.advertiserVocab.names,
  };
  for (const f of DEMOGRAPHIC_FIELDS) vocabs[`demo.${f}`] = ds.demographics[f].vocab.names;
  const header: Header = {
    source: ds.source,
    vocabs,
    report: ds.report,
    dtypes: Object.fromEntries(arrays.map(([name, a]) => [name, dtypeOf(a)])),
  };
  return encodeContainer(
    KIND,
    header,
    arrays.map(([name, a]) => [name, bytesOf(a)] as const),
  );
}

/** Writes the artifact atomically: a reader sees the old file or the complete new one, never a partial one. */
export function saveDataset(ds: CompiledDataset, path: string): void {
  writeFileAtomic(path, encodeParts(ds));
}

/** Parses artifact bytes, checking magic, version and hash. `file` names the source in errors. */
export function decodeDataset(buf: Buffer, file = "<buffer>"): CompiledDataset {
  const c = decodeContainer<Header>(buf, KIND, file);
  const meta = c.header;
  const typed = (name: string): Typed => typedSection(c.section(name), CTORS[meta.dtypes[name] ?? "i32"]);
  const demographics = {} as Record<DemographicField, DemographicColumn>;
  for (const f of DEMOGRAPHIC_FIELDS) {
    demographics[f] = { vocab: new Vocab(meta.vocabs[`demo.${f}`]), codes: typed(`demo.${f}`) as Int32Array };
  }
  return {
    source: meta.source,
    userVocab: new Vocab(meta.vocabs.user),
    itemVocab: new Vocab(meta.vocabs.item),
    categoryVocab: new Vocab(meta.vocabs.category),
    typeVocab: new Vocab(meta.vocabs.type),
    advertiserVocab: new Vocab(meta.vocabs.advertiser),
    offsets: typed("offsets") as Int32Array,
    items: typed("items") as Int32Array,
    timestamps: typed("timestamps") as Float64Array,
    types: typed("types") as Int32Array,
    catOffsets: typed("catOffsets") as Int32Array,
    catIds: typed("catIds") as Int32Array,
    catConf: typed("catConf") as Float32Array,
    itemAdvertiser: typed("itemAdvertiser") as Int32Array,
    itemBid: typed("itemBid") as Float32Array,
    itemCountryOffsets: typed("itemCountryOffsets") as Int32Array,
    itemCountries: typed("itemCountries") as Int32Array,
    demographics,
    userAge: typed("userAge") as Float32Array,
    report: meta.report,
  };
}

/** Loads an artifact written by `saveDataset`. CTXREC_ERR_DATA_MISSING_FILE if absent. */
export function loadDatasetArtifact(path: string): CompiledDataset {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_MISSING_FILE",
      "dataset artifact not found; build it first (saveDataset / ctxrec data compile)",
      { file: path },
      { cause: err },
    );
  }
  return decodeDataset(buf, path);
}
