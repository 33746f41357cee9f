/** Test helper: writes small input files (text or raw bytes, optionally gzip) into a fresh temp folder. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";

export interface TempFolder {
  dir: string;
  /** Writes `content` at `name` (a `.gz` name is gzip-compressed); returns the full path. */
  write(name: string, content: string | Uint8Array): string;
  remove(): void;
}

export function tempFolder(prefix = "ctxrec-data-"): TempFolder {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    write(name, content) {
      const path = join(dir, name);
      mkdirSync(dirname(path), { recursive: true });
      const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : content;
      writeFileSync(path, name.endsWith(".gz") ? gzipSync(bytes) : bytes);
      return path;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** JSONL text from objects, one a line. */
export function jsonl(rows: readonly unknown[]): string {
  return `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`;
}
