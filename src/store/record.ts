/**
 * The binary record both stores keep per user (a SQLite BLOB, a Redis string). Self-describing so
 * that a reader can check, without trusting the key it came from, that the record is whole (exact
 * byte length) and belongs to its model version.
 *
 * Layout, little-endian:
 *   0  4 bytes  magic "CXS1" (format 1)
 *   4  u32      d
 *   8  f64      computedAt (Unix s)
 *  16  u16      n = byte length of the model version (UTF-8)
 *  18  n bytes  model version
 *   …  zero padding to a multiple of 4
 *   …  d × f32  the vector, bit-exact
 */
import { CtxrecError } from "../core/errors.ts";
import type { StateEntry, StoreCounters } from "./featureStore.ts";

const MAGIC = 0x31535843; // "CXS1" read as a little-endian u32
const FIXED_HEADER = 18;

/** Byte offset of the vector for a model version of `versionBytes` UTF-8 bytes. */
export function vectorOffset(versionBytes: number): number {
  return Math.ceil((FIXED_HEADER + versionBytes) / 4) * 4;
}

/** The longest header: model versions are at most 128 ASCII characters (`checkOpenArgs`). */
export const MAX_HEADER = vectorOffset(128);

/** Encodes a (validated) entry; `[d]` vector → `headerLength + 4d` bytes. */
export function encodeRecord(entry: StateEntry): Buffer {
  const version = Buffer.from(entry.modelVersion, "utf8");
  const offset = vectorOffset(version.length);
  const d = entry.vector.length;
  const buf = Buffer.alloc(offset + 4 * d);
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt32LE(d, 4);
  buf.writeDoubleLE(entry.computedAt, 8);
  buf.writeUInt16LE(version.length, 16);
  version.copy(buf, FIXED_HEADER);
  // Copy the raw bytes (not the numbers) so -0 and subnormals survive bit-exact.
  Buffer.from(entry.vector.buffer, entry.vector.byteOffset, 4 * d).copy(buf, offset);
  return buf;
}

/** Where a record was read from, for messages: e.g. `store.db: user "u1"`. */
export interface RecordContext {
  where: string;
  user: string;
  modelVersion: string;
  dim: number;
  counters: StoreCounters;
}

function corrupt(ctx: RecordContext, reason: string): CtxrecError {
  ctx.counters.corruptRecords++;
  return new CtxrecError(
    "CTXREC_ERR_ARTIFACT_CORRUPT",
    `user ${JSON.stringify(ctx.user)}: ${reason}; the record is damaged: re-run \`ctxrec encode\` for this model version`,
    { file: ctx.where },
  );
}

/**
 * Decodes and checks a record's header: magic, declared d, model version. With `full`, the byte
 * length must also be exactly header + 4d (no partial vector). Returns computedAt and the offset.
 */
export function decodeHeader(
  buf: Buffer,
  ctx: RecordContext,
  full: boolean,
): { computedAt: number; offset: number } {
  if (buf.length < FIXED_HEADER || buf.readUInt32LE(0) !== MAGIC) {
    throw corrupt(ctx, `record of ${buf.length} bytes has no ctxrec header`);
  }
  const n = buf.readUInt16LE(16);
  const offset = vectorOffset(n);
  if (buf.length < FIXED_HEADER + n) throw corrupt(ctx, `record header is truncated (${buf.length} bytes)`);
  const version = buf.toString("utf8", FIXED_HEADER, FIXED_HEADER + n);
  if (version !== ctx.modelVersion) {
    ctx.counters.versionRefusals++;
    throw new CtxrecError(
      "CTXREC_ERR_ARTIFACT_VERSION",
      `user ${JSON.stringify(ctx.user)}: state was written by model version ${JSON.stringify(version)}, but this reader serves ${JSON.stringify(ctx.modelVersion)}; refusing it (re-encode the user with the served model)`,
      { file: ctx.where },
    );
  }
  const d = buf.readUInt32LE(4);
  if (d !== ctx.dim) throw corrupt(ctx, `record declares d=${d}, the namespace holds d=${ctx.dim}`);
  if (full && buf.length !== offset + 4 * d) {
    throw corrupt(ctx, `record has ${buf.length} bytes, expected ${offset + 4 * d} for d=${d}`);
  }
  return { computedAt: buf.readDoubleLE(8), offset };
}

/** Decodes a whole record into a StateEntry with a fresh `[d]` vector. */
export function decodeRecord(buf: Buffer, ctx: RecordContext): StateEntry {
  const { computedAt, offset } = decodeHeader(buf, ctx, true);
  const vector = new Float32Array(ctx.dim);
  // Copy bytes into an aligned buffer: the source offset inside a driver's Buffer need not be 4-aligned.
  buf.copy(Buffer.from(vector.buffer), 0, offset, offset + 4 * ctx.dim);
  return { user: ctx.user, vector, modelVersion: ctx.modelVersion, computedAt };
}
