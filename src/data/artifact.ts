/**
 * Binary artifact of a CompiledDataset: ONE file, written atomically (temp file + fsync + rename),
 * that reloads without parsing.
 *
 * Layout (little-endian):
 *   [0, 8)    magic "CTXRECDS"
 *   [8, 12)   u32 format version (ARTIFACT_VERSION)
 *   [12, 16)  u32 byte length H of the section table (JSON, UTF-8, space-padded to a multiple of 8)
 *   [16, 48)  sha256 over every byte from 48 to the end (section table + payload)
 *   [48, 48+H) section table: {"sections": [{name, dtype, offset, count}]} (offset relative to the payload)
 *   payload   the sections, each starting on an 8-byte boundary: typed arrays as raw bytes, and one
 *             "meta" section (JSON: source, vocabularies, report)
 */

import { createHash } from "node:crypto";
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { endianness } from "node:os";
import { CtxrecError } from "../core/errors.ts";
import type { CompiledDataset, DataReport, DemographicColumn } from "./dataset.ts";
import { DEMOGRAPHIC_FIELDS, type DemographicField } from "./schema.ts";
import { Vocab } from "./vocab.ts";

export const ARTIFACT_MAGIC = "CTXRECDS";
export const ARTIFACT_VERSION = 1;
const PREFIX = 48;

type DType = "i32" | "f32" | "f64" | "json";
type Typed = Int32Array | Float32Array | Float64Array;

interface SectionEntry {
  name: string;
  dtype: DType;
  /** Byte offset from the payload start. */
  offset: number;
  /** Elements (bytes for json). */
  count: number;
}

interface Meta {
  source: CompiledDataset["source"];
  vocabs: Record<string, string[]>;
  report: DataReport;
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

function dtypeOf(a: Typed): DType {
  if (a instanceof Int32Array) return "i32";
  if (a instanceof Float32Array) return "f32";
  return "f64";
}

const pad8 = (n: number) => (n + 7) & ~7;

function requireLittleEndian(): void {
  if (endianness() !== "LE") {
    throw new CtxrecError("CTXREC_ERR_ARG", "dataset artifacts are little-endian; this host is big-endian", {
      param: "host",
    });
  }
}

/** Serializes a dataset to the artifact bytes (see the layout above). */
export function encodeDataset(ds: CompiledDataset): Buffer {
  requireLittleEndian();
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
  const meta = Buffer.from(
    JSON.stringify({ source: ds.source, vocabs, report: ds.report } satisfies Meta),
    "utf8",
  );

  const sections: SectionEntry[] = [];
  const parts: Buffer[] = [];
  let offset = 0;
  const add = (name: string, dtype: DType, count: number, bytes: Buffer) => {
    sections.push({ name, dtype, offset, count });
    parts.push(bytes);
    const padded = pad8(bytes.length);
    if (padded > bytes.length) parts.push(Buffer.alloc(padded - bytes.length));
    offset += padded;
  };
  add("meta", "json", meta.length, meta);
  for (const [name, a] of arrays)
    add(name, dtypeOf(a), a.length, Buffer.from(a.buffer, a.byteOffset, a.byteLength));

  const tableJson = JSON.stringify({ sections });
  const table = Buffer.alloc(pad8(Buffer.byteLength(tableJson)), " ");
  table.write(tableJson, "utf8");
  const prefix = Buffer.alloc(PREFIX);
  prefix.write(ARTIFACT_MAGIC, 0, "latin1");
  prefix.writeUInt32LE(ARTIFACT_VERSION, 8);
  prefix.writeUInt32LE(table.length, 12);
  const hash = createHash("sha256").update(table);
  for (const p of parts) hash.update(p);
  hash.digest().copy(prefix, 16);
  return Buffer.concat([prefix, table, ...parts]);
}

/** Writes the artifact atomically: a reader sees the old file or the complete new one, never a partial one. */
export function saveDataset(ds: CompiledDataset, path: string): void {
  const bytes = encodeDataset(ds);
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, "w");
    try {
      writeSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

function corrupt(file: string, reason: string): CtxrecError {
  return new CtxrecError(
    "CTXREC_ERR_ARTIFACT_CORRUPT",
    `${reason}; rebuild the artifact from the source data`,
    {
      file,
    },
  );
}

/** Parses artifact bytes, checking magic, version and hash. `file` names the source in errors. */
export function decodeDataset(buf: Buffer, file = "<buffer>"): CompiledDataset {
  requireLittleEndian();
  if (buf.length < PREFIX || buf.toString("latin1", 0, 8) !== ARTIFACT_MAGIC) {
    throw corrupt(file, `not a ctxrec dataset artifact (magic ${JSON.stringify(ARTIFACT_MAGIC)} missing)`);
  }
  const version = buf.readUInt32LE(8);
  if (version !== ARTIFACT_VERSION) {
    throw new CtxrecError(
      "CTXREC_ERR_ARTIFACT_VERSION",
      `dataset artifact format version ${version}, this ctxrec reads version ${ARTIFACT_VERSION}; rebuild it from the source data with this version`,
      { file },
    );
  }
  const tableLen = buf.readUInt32LE(12);
  if (PREFIX + tableLen > buf.length) throw corrupt(file, "section table runs past the end of the file");
  const expected = buf.subarray(16, PREFIX);
  const actual = createHash("sha256").update(buf.subarray(PREFIX)).digest();
  if (!actual.equals(expected)) {
    throw corrupt(
      file,
      `content hash mismatch (stored ${expected.toString("hex").slice(0, 12)}…, computed ${actual.toString("hex").slice(0, 12)}…)`,
    );
  }
  const { sections } = JSON.parse(buf.toString("utf8", PREFIX, PREFIX + tableLen)) as {
    sections: SectionEntry[];
  };
  const payload = PREFIX + tableLen;
  const byName = new Map(sections.map((s) => [s.name, s]));
  const section = (name: string): SectionEntry => {
    const s = byName.get(name);
    if (s === undefined) throw corrupt(file, `section ${JSON.stringify(name)} missing`);
    return s;
  };
  const typed = (name: string): Typed => {
    const s = section(name);
    const at = buf.byteOffset + payload + s.offset;
    const Ctor = s.dtype === "i32" ? Int32Array : s.dtype === "f32" ? Float32Array : Float64Array;
    const bytes = s.count * Ctor.BYTES_PER_ELEMENT;
    if (payload + s.offset + bytes > buf.length)
      throw corrupt(file, `section ${name} runs past the end of the file`);
    // Views need aligned offsets; a Buffer from readFileSync starts aligned, a sliced one may not.
    const ab = buf.buffer as ArrayBuffer;
    if (at % Ctor.BYTES_PER_ELEMENT === 0) return new Ctor(ab, at, s.count);
    return new Ctor(ab.slice(at, at + bytes));
  };
  const m = section("meta");
  const meta = JSON.parse(buf.toString("utf8", payload + m.offset, payload + m.offset + m.count)) as Meta;
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
