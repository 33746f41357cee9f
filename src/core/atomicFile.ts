/**
 * Atomic file writes: the bytes go to a temporary file beside the target, are fsynced, then renamed
 * over it. rename(2) within one folder is atomic, so a reader (or a crash) sees the old complete
 * file or the new complete file, never a torn one. Every artifact, result and report ctxrec writes
 * goes through here.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";

/** Writes `content` (text, bytes, or byte parts written in order without concatenating) to `path` atomically. */
export function writeFileAtomic(path: string, content: string | Uint8Array | readonly Uint8Array[]): void {
  const parts =
    typeof content === "string"
      ? [Buffer.from(content, "utf8")]
      : Array.isArray(content)
        ? content
        : [content as Uint8Array];
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    const fd = openSync(tmp, "w");
    try {
      for (const p of parts) writeSync(fd, p);
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

/** JSON (2-space indented, trailing newline) written atomically. */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}
