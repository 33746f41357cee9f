/**
 * The one binary container behind every ctxrec artifact file (compiled data sets, vector indexes,
 * model weights): a JSON header and named byte sections, integrity-checked and written atomically.
 *
 * Layout (little-endian):
 *   [0, 8)     magic (8 ASCII characters naming the kind of artifact)
 *   [8, 12)    u32 format version of that kind
 *   [12, 16)   u32 byte length H of the header JSON (space-padded to a multiple of 8)
 *   [16, 48)   sha256 over every byte from 48 to the end (header + payload)
 *   [48, 48+H) header JSON: {header: <the kind's own JSON>, sections: [{name, offset, bytes}]}
 *   payload    the sections, each starting on an 8-byte boundary (offsets relative to the payload)
 *
 * Readers refuse another magic or a damaged file (CTXREC_ERR_ARTIFACT_CORRUPT) and another format
 * version (CTXREC_ERR_ARTIFACT_VERSION), naming the file and how to rebuild it.
 */
import { createHash } from "node:crypto";
import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { endianness } from "node:os";
import { writeFileAtomic } from "./atomicFile.ts";
import { CtxrecError } from "./errors.ts";

/** What a kind of container is called and how to rebuild one (used in every error message). */
export interface ContainerKind {
  /** Exactly 8 ASCII characters. */
  magic: string;
  format: number;
  /** E.g. "dataset artifact", "index". */
  name: string;
  /** The fix named in errors, e.g. "rebuild the artifact from the source data". */
  rebuild: string;
}

interface SectionEntry {
  name: string;
  offset: number;
  bytes: number;
}

/** A decoded container: the kind's header and its sections by name. */
export interface Container<H> {
  header: H;
  /** The bytes of section `name` (a view into the file buffer); CORRUPT if absent. */
  section(name: string): Uint8Array;
  has(name: string): boolean;
}

const PREFIX = 48;
const pad8 = (n: number) => (n + 7) & ~7;

function requireLittleEndian(kind: ContainerKind): void {
  if (endianness() !== "LE") {
    throw new CtxrecError("CTXREC_ERR_ARG", `${kind.name} files are little-endian; this host is big-endian`, {
      param: "host",
    });
  }
}

function corrupt(kind: ContainerKind, file: string, reason: string): CtxrecError {
  return new CtxrecError("CTXREC_ERR_ARTIFACT_CORRUPT", `${reason}; ${kind.rebuild}`, { file });
}

/** The container's bytes as parts to write in order (no copy of the sections). */
export function encodeContainer(
  kind: ContainerKind,
  header: unknown,
  sections: ReadonlyArray<readonly [string, Uint8Array]>,
): Uint8Array[] {
  requireLittleEndian(kind);
  const entries: SectionEntry[] = [];
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, bytes] of sections) {
    entries.push({ name, offset, bytes: bytes.byteLength });
    parts.push(bytes);
    const padded = pad8(bytes.byteLength);
    if (padded > bytes.byteLength) parts.push(new Uint8Array(padded - bytes.byteLength));
    offset += padded;
  }
  const json = JSON.stringify({ header, sections: entries });
  const table = Buffer.alloc(pad8(Buffer.byteLength(json)), " ");
  table.write(json, "utf8");
  const prefix = Buffer.alloc(PREFIX);
  prefix.write(kind.magic, 0, "latin1");
  prefix.writeUInt32LE(kind.format, 8);
  prefix.writeUInt32LE(table.length, 12);
  const hash = createHash("sha256").update(table);
  for (const p of parts) hash.update(p);
  hash.digest().copy(prefix, 16);
  return [prefix, table, ...parts];
}

/** Writes a container to `path` atomically (temp file + fsync + rename). */
export function writeContainer(
  path: string,
  kind: ContainerKind,
  header: unknown,
  sections: ReadonlyArray<readonly [string, Uint8Array]>,
): void {
  writeFileAtomic(path, encodeContainer(kind, header, sections));
}

function checkPrefix(buf: Buffer, kind: ContainerKind, file: string): number {
  if (buf.length < PREFIX || buf.toString("latin1", 0, 8) !== kind.magic) {
    throw corrupt(kind, file, `not a ctxrec ${kind.name} (magic ${JSON.stringify(kind.magic)} missing)`);
  }
  const format = buf.readUInt32LE(8);
  if (format !== kind.format) {
    throw new CtxrecError(
      "CTXREC_ERR_ARTIFACT_VERSION",
      `${kind.name} format version ${format}, this ctxrec reads version ${kind.format}; ${kind.rebuild} with this version`,
      { file },
    );
  }
  const tableLen = buf.readUInt32LE(12);
  if (PREFIX + tableLen > buf.length)
    throw corrupt(kind, file, "header runs past the end of the file (truncated?)");
  return tableLen;
}

function parseTable(buf: Buffer, tableLen: number, kind: ContainerKind, file: string) {
  try {
    return JSON.parse(buf.toString("utf8", PREFIX, PREFIX + tableLen)) as {
      header: unknown;
      sections: SectionEntry[];
    };
  } catch (err) {
    throw corrupt(kind, file, `header is not valid JSON (${(err as Error).message})`);
  }
}

/** Decodes container bytes, checking magic, format, hash and section bounds. `file` names the source. */
export function decodeContainer<H>(buf: Buffer, kind: ContainerKind, file = "<buffer>"): Container<H> {
  requireLittleEndian(kind);
  const tableLen = checkPrefix(buf, kind, file);
  const stored = buf.subarray(16, PREFIX);
  const actual = createHash("sha256").update(buf.subarray(PREFIX)).digest();
  if (!actual.equals(stored)) {
    throw corrupt(
      kind,
      file,
      `content hash mismatch (stored ${stored.toString("hex").slice(0, 12)}…, computed ${actual.toString("hex").slice(0, 12)}…)`,
    );
  }
  const { header, sections } = parseTable(buf, tableLen, kind, file);
  const payload = PREFIX + tableLen;
  const byName = new Map(sections.map((s) => [s.name, s]));
  return {
    header: header as H,
    has: (name) => byName.has(name),
    section(name) {
      const s = byName.get(name);
      if (s === undefined) throw corrupt(kind, file, `section ${JSON.stringify(name)} missing`);
      if (s.offset < 0 || payload + s.offset + s.bytes > buf.length) {
        throw corrupt(kind, file, `section ${JSON.stringify(name)} runs past the end of the file`);
      }
      return buf.subarray(payload + s.offset, payload + s.offset + s.bytes);
    },
  };
}

function readWhole(path: string, kind: ContainerKind): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_MISSING_FILE",
      `cannot read the ${kind.name} (${(err as Error).message})`,
      { file: path },
      { cause: err },
    );
  }
}

/** Reads and verifies a whole container file. */
export function readContainer<H>(path: string, kind: ContainerKind): Container<H> {
  return decodeContainer<H>(readWhole(path, kind), kind, path);
}

/** Reads only the header (magic and format checked, hash not): cheap, for `info` and version checks. */
export function readContainerHeader<H>(path: string, kind: ContainerKind): H {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_MISSING_FILE",
      `cannot read the ${kind.name} (${(err as Error).message})`,
      {
        file: path,
      },
    );
  }
  try {
    const prefix = Buffer.alloc(PREFIX);
    const got = readSync(fd, prefix, 0, PREFIX, 0);
    // Capped by the file size so a damaged length cannot ask for gigabytes; checkPrefix reports it.
    const h = got === PREFIX ? Math.min(prefix.readUInt32LE(12), fstatSync(fd).size - PREFIX) : 0;
    const head = Buffer.alloc(PREFIX + h);
    readSync(fd, head, 0, PREFIX + h, 0);
    const buf = head.subarray(0, got < PREFIX ? got : head.length);
    return parseTable(buf, checkPrefix(buf, kind, path), kind, path).header as H;
  } finally {
    closeSync(fd);
  }
}

type TypedCtor =
  | Int32ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | Uint8ArrayConstructor;

/** A typed array over section bytes: a view when aligned, an aligned copy otherwise. */
export function typedSection<C extends TypedCtor>(bytes: Uint8Array, Ctor: C): InstanceType<C> {
  const size = Ctor.BYTES_PER_ELEMENT;
  const count = Math.floor(bytes.byteLength / size);
  if (bytes.byteOffset % size === 0)
    return new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, count) as InstanceType<C>;
  // new Uint8Array(bytes) copies into a fresh buffer (Buffer#slice would not: it is a view).
  return new Ctor(new Uint8Array(bytes).buffer, 0, count) as InstanceType<C>;
}

/** The raw bytes of a typed array (a view, no copy). */
export const bytesOf = (a: ArrayBufferView): Uint8Array =>
  new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
