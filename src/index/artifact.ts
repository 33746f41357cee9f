/**
 * The index artifact: ONE file holding the manifest, the item ids, the item vectors and (for an
 * approximate index) the native graph, written atomically (temp file + fsync + rename) so a reader
 * sees the previous complete file or the new complete file, never a half-written one. One file
 * rather than a folder because rename(2) replaces a file atomically; replacing a folder cannot be.
 *
 * Layout (little-endian):
 *   [0, 8)     magic "CTXRECVI"
 *   [8, 12)    u32 format version (INDEX_FORMAT)
 *   [12, 16)   u32 byte length H of the header JSON (space-padded to a multiple of 8)
 *   [16, 48)   sha256 over every byte from 48 to the end
 *   [48, 48+H) header JSON: {manifest, sections: {ids, vectors, graph?: {offset, bytes}}}
 *   payload    sections, each on an 8-byte boundary: ids (JSON array), vectors ([N, d] f32), graph
 */
import { createHash } from "node:crypto";
import {
  closeSync,
  fstatSync,
  fsyncSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { endianness } from "node:os";
import { CtxrecError, wrapError } from "../core/errors.ts";
import type { IndexManifest } from "./vectorIndex.ts";

export const INDEX_MAGIC = "CTXRECVI";
export const INDEX_FORMAT = 1;
const PREFIX = 48;

interface Section {
  offset: number;
  bytes: number;
}

interface Header {
  manifest: IndexManifest;
  sections: { ids: Section; vectors: Section; graph?: Section };
}

/** The parts of an index artifact. */
export interface IndexArtifact {
  manifest: IndexManifest;
  ids: string[];
  /** `[N, d]` float32. */
  vectors: Float32Array;
  /** Native graph bytes of an approximate index (library-specific format). */
  graph?: Uint8Array;
}

const pad8 = (n: number) => (n + 7) & ~7;

function requireLittleEndian(): void {
  if (endianness() !== "LE") {
    throw new CtxrecError("CTXREC_ERR_ARG", "index artifacts are little-endian; this host is big-endian", {
      param: "host",
    });
  }
}

/** Writes `art` to `path` atomically. */
export function writeIndexArtifact(path: string, art: IndexArtifact): void {
  requireLittleEndian();
  const parts: Uint8Array[] = [];
  let offset = 0;
  const add = (bytes: Uint8Array): Section => {
    const s = { offset, bytes: bytes.byteLength };
    parts.push(bytes);
    const padded = pad8(bytes.byteLength);
    if (padded > bytes.byteLength) parts.push(new Uint8Array(padded - bytes.byteLength));
    offset += padded;
    return s;
  };
  const ids = add(Buffer.from(JSON.stringify(art.ids), "utf8"));
  const vectors = add(new Uint8Array(art.vectors.buffer, art.vectors.byteOffset, art.vectors.byteLength));
  const graph = art.graph === undefined ? undefined : add(art.graph);
  const header: Header = { manifest: art.manifest, sections: { ids, vectors, ...(graph ? { graph } : {}) } };
  const json = JSON.stringify(header);
  const table = Buffer.alloc(pad8(Buffer.byteLength(json)), " ");
  table.write(json, "utf8");
  const prefix = Buffer.alloc(PREFIX);
  prefix.write(INDEX_MAGIC, 0, "latin1");
  prefix.writeUInt32LE(INDEX_FORMAT, 8);
  prefix.writeUInt32LE(table.length, 12);
  const hash = createHash("sha256").update(table);
  for (const p of parts) hash.update(p);
  hash.digest().copy(prefix, 16);

  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    const fd = openSync(tmp, "w");
    try {
      // Written part by part: concatenating would copy the whole index (hundreds of MB at 1M) once more.
      for (const p of [prefix, table, ...parts]) writeSync(fd, p);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw wrapError(
      "CTXREC_ERR_STORE",
      err,
      `could not write the index to ${path}; check the folder exists and is writable`,
    );
  }
}

function corrupt(file: string, reason: string): CtxrecError {
  return new CtxrecError(
    "CTXREC_ERR_ARTIFACT_CORRUPT",
    `${reason}; rebuild the index with \`ctxrec index\``,
    {
      file,
    },
  );
}

/** Reads the header only (manifest), checking magic and format: cheap, for `info` and version checks. */
export function readIndexManifest(path: string): IndexManifest {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_MISSING_FILE",
      `cannot read the index (${(err as Error).message})`,
      {
        file: path,
      },
    );
  }
  try {
    const prefix = Buffer.alloc(PREFIX);
    const got = readSync(fd, prefix, 0, PREFIX, 0);
    // Capped by the file size so a damaged length cannot ask for gigabytes; parseHeader then reports it.
    const h = got === PREFIX ? Math.min(prefix.readUInt32LE(12), fstatSync(fd).size - PREFIX) : 0;
    const head = Buffer.alloc(PREFIX + h);
    readSync(fd, head, 0, PREFIX + h, 0);
    return parseHeader(head.subarray(0, got < PREFIX ? got : head.length), path, false).manifest;
  } finally {
    closeSync(fd);
  }
}

/** Reads and verifies (magic, format, sha256, sizes) a whole artifact. */
export function readIndexArtifact(path: string): IndexArtifact {
  requireLittleEndian();
  const buf = readBytes(path);
  const header = parseHeader(buf, path, true);
  const base = PREFIX + buf.readUInt32LE(12);
  const slice = (s: Section, what: string): Buffer => {
    if (s.offset < 0 || base + s.offset + s.bytes > buf.length)
      corruptThrow(path, `section ${what} runs past the end`);
    return buf.subarray(base + s.offset, base + s.offset + s.bytes);
  };
  const { manifest, sections } = header;
  const ids = JSON.parse(slice(sections.ids, "ids").toString("utf8")) as string[];
  const vb = slice(sections.vectors, "vectors");
  // Copy into a fresh, aligned buffer: the file buffer is released and Float32Array needs 4-byte alignment.
  const vectors = new Float32Array(vb.byteLength / 4);
  new Uint8Array(vectors.buffer).set(vb);
  if (ids.length !== manifest.count || vectors.length !== manifest.count * manifest.dim) {
    corruptThrow(
      path,
      `holds ${ids.length} ids and ${vectors.length} values for N=${manifest.count}, d=${manifest.dim}`,
    );
  }
  const graph = sections.graph === undefined ? undefined : new Uint8Array(slice(sections.graph, "graph"));
  return { manifest, ids, vectors, ...(graph ? { graph } : {}) };
}

function corruptThrow(file: string, reason: string): never {
  throw corrupt(file, reason);
}

function readBytes(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_MISSING_FILE",
      `cannot read the index (${(err as Error).message})`,
      {
        file: path,
      },
    );
  }
}

function parseHeader(buf: Buffer, path: string, verifyHash: boolean): Header {
  if (buf.length < PREFIX || buf.toString("latin1", 0, 8) !== INDEX_MAGIC) {
    corruptThrow(path, `not a ctxrec index (magic '${buf.toString("latin1", 0, Math.min(8, buf.length))}')`);
  }
  const format = buf.readUInt32LE(8);
  if (format !== INDEX_FORMAT) {
    throw new CtxrecError(
      "CTXREC_ERR_ARTIFACT_VERSION",
      `index format ${format}, this build reads format ${INDEX_FORMAT}; rebuild it with \`ctxrec index\``,
      { file: path, field: "format" },
    );
  }
  const h = buf.readUInt32LE(12);
  if (PREFIX + h > buf.length) corruptThrow(path, "header runs past the end (truncated file)");
  if (verifyHash) {
    const digest = createHash("sha256").update(buf.subarray(PREFIX)).digest();
    if (!digest.equals(buf.subarray(16, 48)))
      corruptThrow(path, "sha256 mismatch (file damaged or truncated)");
  }
  try {
    return JSON.parse(buf.toString("utf8", PREFIX, PREFIX + h)) as Header;
  } catch (err) {
    throw corrupt(path, `header is not valid JSON (${(err as Error).message})`);
  }
}
