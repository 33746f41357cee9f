/**
 * Streaming line reader for data files: plain or gzip (`.gz`), UTF-8 or ISO-8859-1.
 *
 * Why not `node:readline`: readline decodes with U+FFFD replacement, so invalid UTF-8 would pass
 * silently and could not be reported with its line number. Here the bytes are split on `\n` first
 * and decoded with a fatal `TextDecoder`, so a bad byte becomes CTXREC_ERR_DATA_ENCODING naming the
 * line and column. Fast path: a whole chunk of complete lines is decoded at once; only when that
 * fails is it decoded line by line to find the culprit.
 */
import { createReadStream, statSync } from "node:fs";
import { basename } from "node:path";
import { TextDecoder } from "node:util";
import { createGunzip } from "node:zlib";
import { CtxrecError } from "../core/errors.ts";

export type TextEncoding = "utf-8" | "latin1";

/** One line of text (without its `\n` or `\r\n`) and its 1-based line number. */
export interface Line {
  text: string;
  line: number;
}

/** Called as bytes of the (possibly compressed) file are read. */
export type ProgressFn = (file: string, bytesRead: number, totalBytes: number) => void;

export interface ReadLinesArgs {
  /** Text encoding of the (decompressed) file. Default "utf-8". */
  encoding?: TextEncoding;
  /** Name used in error messages; default the file's base name. */
  displayName?: string;
  /** Progress callback over the bytes read from disk. */
  onProgress?: ProgressFn;
}

const NEWLINE = 0x0a;

/** Throws CTXREC_ERR_DATA_MISSING_FILE unless `path` is an existing regular file. */
export function requireFile(path: string, what: string): void {
  let ok = false;
  try {
    ok = statSync(path).isFile();
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_MISSING_FILE",
      `${what} not found; check --path (and the file name) or create the file`,
      { file: path },
    );
  }
}

/**
 * Decodes one line's bytes; on invalid UTF-8 throws CTXREC_ERR_DATA_ENCODING with the 1-based
 * column of the first bad character and its byte value.
 */
function decodeLine(bytes: Buffer, decoder: TextDecoder, file: string, line: number): string {
  try {
    return decoder.decode(bytes);
  } catch {
    // Locate the first replacement character of a lossy decode; its UTF-8 prefix length is the
    // byte offset of the bad byte (exact unless the line also holds a genuine U+FFFD before it).
    const lossy = bytes.toString("utf8");
    const col = lossy.indexOf("\uFFFD");
    const byteOffset = Buffer.byteLength(lossy.slice(0, Math.max(col, 0)), "utf8");
    const bad = bytes[byteOffset] ?? 0;
    throw new CtxrecError(
      "CTXREC_ERR_DATA_ENCODING",
      `invalid UTF-8 byte 0x${bad.toString(16).padStart(2, "0")} at column ${col + 1}; ` +
        "save the file as UTF-8",
      { file, line },
    );
  }
}

function stripCr(s: string): string {
  return s.endsWith("\r") ? s.slice(0, -1) : s;
}

/**
 * Yields every line of a file in order, in batches (one per ~1 MB read: an await per line would
 * cost more than parsing it), blank lines included (callers skip them). After the last line,
 * throws CTXREC_ERR_DATA_EMPTY if the file held no non-blank line. A UTF-8 byte-order mark at the
 * start is dropped.
 */
export async function* readLines(path: string, args: ReadLinesArgs = {}): AsyncGenerator<Line[]> {
  const file = args.displayName ?? basename(path);
  requireFile(path, file);
  const encoding = args.encoding ?? "utf-8";
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const totalBytes = statSync(path).size;
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  let bytesRead = 0;
  raw.on("data", (chunk) => {
    bytesRead += chunk.length;
    args.onProgress?.(file, bytesRead, totalBytes);
  });
  const gz = path.endsWith(".gz");
  const source: AsyncIterable<Buffer> = gz ? raw.pipe(createGunzip()) : raw;
  if (gz) raw.on("error", (e) => (source as NodeJS.ReadableStream).emit("error", e));

  let carry: Buffer = Buffer.alloc(0);
  let lineNo = 0;
  let nonBlank = 0;
  let first = true;

  // Decodes `bytes` (whole lines, separated by \n) and yields them.
  const emit = (bytes: Buffer): Line[] => {
    const out: Line[] = [];
    let text: string | undefined;
    if (encoding === "latin1") text = bytes.toString("latin1");
    else {
      try {
        text = decoder.decode(bytes);
      } catch {
        text = undefined;
      }
    }
    if (text !== undefined) {
      for (const part of text.split("\n")) {
        lineNo++;
        const t = stripCr(part);
        if (t.trim() !== "") nonBlank++;
        out.push({ text: t, line: lineNo });
      }
      return out;
    }
    // Slow path: find the bad line.
    let start = 0;
    for (;;) {
      const nl = bytes.indexOf(NEWLINE, start);
      const end = nl === -1 ? bytes.length : nl;
      lineNo++;
      const t = stripCr(decodeLine(bytes.subarray(start, end), decoder, file, lineNo));
      if (t.trim() !== "") nonBlank++;
      out.push({ text: t, line: lineNo });
      if (nl === -1) return out;
      start = nl + 1;
    }
  };

  try {
    for await (const chunk of source) {
      let buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
      if (first && buf.length >= 3) {
        first = false;
        if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
      }
      const last = buf.lastIndexOf(NEWLINE);
      if (last === -1) {
        carry = buf;
        continue;
      }
      carry = Buffer.from(buf.subarray(last + 1));
      yield emit(buf.subarray(0, last));
    }
  } catch (err) {
    if (err instanceof CtxrecError) throw err;
    const code = (err as { code?: string }).code ?? "";
    if (gz && code.startsWith("Z_")) {
      throw new CtxrecError(
        "CTXREC_ERR_DATA_ENCODING",
        `not a valid gzip stream (${code}); re-compress the file with gzip or drop the .gz suffix`,
        { file, line: lineNo + 1 },
        { cause: err },
      );
    }
    throw err;
  }
  if (carry.length > 0) yield emit(carry);
  if (nonBlank === 0) {
    throw new CtxrecError("CTXREC_ERR_DATA_EMPTY", "file is empty (no rows); add data rows", {
      file,
    });
  }
}
