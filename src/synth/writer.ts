/**
 * Streaming, atomic output for the world: JSONL files written in ~1 MiB chunks (each write awaited,
 * so memory stays bounded however many events there are), into a temporary sibling folder that is
 * renamed into place only once complete, so a crash never leaves a half world that looks whole.
 */
import { existsSync } from "node:fs";
import { type FileHandle, mkdir, open, rename, rm } from "node:fs/promises";
import path from "node:path";
import { CtxrecError } from "../core/errors.ts";

/** Bytes (UTF-16 units; ids are ASCII) buffered before a write. */
const CHUNK = 1 << 20;

/** Appends lines to one file, buffered. Call `maybeFlush` between batches, `close` at the end. */
export class JsonlWriter {
  private parts: string[] = [];
  private pending = 0;
  /** Lines written so far. */
  lines = 0;

  private constructor(private readonly handle: FileHandle) {}

  static async open(file: string): Promise<JsonlWriter> {
    return new JsonlWriter(await open(file, "w"));
  }

  /** Buffers one line (without its newline). */
  line(s: string): void {
    this.parts.push(s, "\n");
    this.pending += s.length + 1;
    this.lines++;
  }

  /** Writes the buffer once it holds a chunk; awaiting it is the backpressure. */
  async maybeFlush(): Promise<void> {
    if (this.pending >= CHUNK) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pending === 0) return;
    const text = this.parts.join("");
    this.parts = [];
    this.pending = 0;
    await this.handle.write(text);
  }

  async close(): Promise<void> {
    await this.flush();
    await this.handle.close();
  }
}

/**
 * Runs `fill(tmpDir)` on a fresh temporary folder beside `outDir`, then renames it to `outDir`.
 * An existing `outDir` is refused unless `overwrite`; then it is replaced only after the new
 * world is complete. On failure the temporary folder is removed and the error rethrown.
 */
export async function writeAtomically<T>(
  outDir: string,
  overwrite: boolean,
  fill: (tmpDir: string) => Promise<T>,
): Promise<T> {
  const target = path.resolve(outDir);
  if (existsSync(target) && !overwrite) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `${target} already exists; choose another folder or allow overwriting (--force)`,
      { param: "out" },
    );
  }
  const tmp = `${target}.partial-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  let result: T;
  try {
    result = await fill(tmp);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  if (existsSync(target)) {
    const old = `${target}.old-${process.pid}`;
    await rename(target, old);
    await rename(tmp, target);
    await rm(old, { recursive: true, force: true });
  } else {
    await rename(tmp, target);
  }
  return result;
}
