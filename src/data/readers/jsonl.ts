/**
 * JSONL folder reader: `items.jsonl` (required), `users.jsonl` (optional: no demographics when
 * absent), `events.jsonl` (required), each optionally gzip-compressed as `NAME.jsonl.gz`. One JSON
 * object a line in the canonical schema (`schema.ts`); blank lines are ignored.
 */
import { basename } from "node:path";
import { CtxrecError } from "../../core/errors.ts";
import type { DatasetBuilder } from "../builder.ts";
import { type ProgressFn, readLines } from "../lines.ts";
import { eventSchema, itemSchema, parseRow, showText, userSchema } from "../schema.ts";
import { findDataFile, requireDir } from "./files.ts";

/** Parses one JSONL line; BAD_ROW naming the line if it is not a JSON value. */
export function parseJsonLine(text: string, file: string, line: number): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_BAD_ROW",
      `line is not valid JSON (truncated or malformed): ${showText(text)}; write one complete JSON object per line`,
      { file, line },
    );
  }
}

/** Reads a JSONL folder into `builder` (items, then users, then events). */
export async function readJsonlFolder(
  dir: string,
  builder: DatasetBuilder,
  onProgress?: ProgressFn,
): Promise<void> {
  requireDir(dir, "JSONL data");
  const itemsPath = findDataFile(dir, "items.jsonl", true) as string;
  const usersPath = findDataFile(dir, "users.jsonl", false);
  const eventsPath = findDataFile(dir, "events.jsonl", true) as string;

  const file = basename(itemsPath);
  for await (const batch of readLines(itemsPath, { onProgress }))
    for (const { text, line } of batch) {
      if (text.trim() === "") continue;
      builder.row(() => {
        const item = parseRow(itemSchema, parseJsonLine(text, file, line), { file, line });
        builder.addItem(item, { file, line });
      });
    }
  builder.closeCatalogue();

  if (usersPath !== undefined) {
    const ufile = basename(usersPath);
    for await (const batch of readLines(usersPath, { onProgress }))
      for (const { text, line } of batch) {
        if (text.trim() === "") continue;
        builder.row(() => {
          builder.addUser(parseRow(userSchema, parseJsonLine(text, ufile, line), { file: ufile, line }), {
            file: ufile,
            line,
          });
        });
      }
  }

  const efile = basename(eventsPath);
  for await (const batch of readLines(eventsPath, { onProgress }))
    for (const { text, line } of batch) {
      if (text.trim() === "") continue;
      builder.row(() => {
        const ev = parseRow(eventSchema, parseJsonLine(text, efile, line), { file: efile, line });
        builder.addEvent(ev.user, ev.item, ev.timestamp, ev.type, { file: efile, line });
      });
    }
}
