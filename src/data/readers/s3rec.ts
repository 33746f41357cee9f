/**
 * S3-Rec sequence reader (`Beauty.txt` and friends): one user per line, `user item item …`
 * separated by spaces (or tabs), items already in time order, no timestamps. The k-th event
 * (0-based) of every sequence gets the synthetic timestamp k seconds, so ordering, leave-one-out
 * and "all but the last event" cut-offs work as for real logs; calendar cut-offs are meaningless
 * here (docs/data-formats.md).
 *
 * Optional attributes file (`*_item2attributes.json`): one JSON object `{"<item>": [attr, …]}`.
 * Attribute ids become categories with equal confidence 1/#distinct attributes (an id listed twice
 * for one item is merged and counted in `DataReport.duplicateAttributes`). It is read whole (a single
 * JSON value cannot be streamed line by line; Beauty's is 300 KB). Keys must be items that occur in
 * the sequences (CTXREC_ERR_DATA_UNKNOWN_ID otherwise); items without attributes have no categories.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { z } from "zod";
import { CtxrecError } from "../../core/errors.ts";
import type { DatasetBuilder } from "../builder.ts";
import { type ProgressFn, readLines, requireFile } from "../lines.ts";
import { parseRow } from "../schema.ts";
import { parseJsonLine } from "./jsonl.ts";

const ATTRIBUTE = { error: "expected a non-negative integer or a non-empty string attribute id" };
const attributeList = z.array(
  z.union(
    [z.number(ATTRIBUTE).int(ATTRIBUTE).nonnegative(ATTRIBUTE), z.string(ATTRIBUTE).min(1, ATTRIBUTE)],
    ATTRIBUTE,
  ),
  { error: "expected an array of attribute ids" },
);

/** Reads an S3-Rec sequence file (and optional attributes file) into `builder`. */
export async function readS3Rec(
  path: string,
  attributes: string | undefined,
  builder: DatasetBuilder,
  onProgress?: ProgressFn,
): Promise<void> {
  const file = basename(path);
  requireFile(path, file);
  if (attributes !== undefined) requireFile(attributes, basename(attributes));
  const firstLine = new Map<string, number>();
  for await (const batch of readLines(path, { onProgress }))
    for (const { text, line } of batch) {
      if (text.trim() === "") continue;
      builder.row(() => {
        const loc = { file, line };
        const f = text.trim().split(/\s+/);
        if (f.length < 2) {
          throw new CtxrecError(
            "CTXREC_ERR_DATA_BAD_ROW",
            `expected 'user item [item …]' (at least 2 fields), got ${f.length}; a user needs at least one item`,
            loc,
          );
        }
        const prev = firstLine.get(f[0]);
        if (prev !== undefined) {
          throw new CtxrecError(
            "CTXREC_ERR_DATA_BAD_ROW",
            `user ${JSON.stringify(f[0])} already has a sequence at line ${prev}; merge the two lines in time order`,
            { ...loc, field: "user" },
          );
        }
        firstLine.set(f[0], line);
        for (let k = 1; k < f.length; k++) builder.addEvent(f[0], f[k], k - 1, undefined, loc);
      });
    }
  if (attributes !== undefined) readAttributes(attributes, builder);
}

function readAttributes(path: string, builder: DatasetBuilder): void {
  const file = basename(path);
  const bytes = readFileSync(path);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new CtxrecError("CTXREC_ERR_DATA_ENCODING", "file is not valid UTF-8; save it as UTF-8", { file });
  }
  if (text.trim() === "") {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_EMPTY",
      'file is empty; expected a JSON object {"item": [attribute, …]}',
      {
        file,
      },
    );
  }
  const obj = parseJsonLine(text, file, 1);
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_BAD_ROW",
      "expected one JSON object mapping item ids to attribute-id arrays",
      { file },
    );
  }
  for (const [item, value] of Object.entries(obj)) {
    const loc = { file, field: `[${JSON.stringify(item)}]` };
    builder.row(() => {
      const listed = parseRow(attributeList, value, loc).map(String);
      const code = builder.existingItem(item, loc);
      // Real files repeat an attribute now and then (a category-path entry equal to another): merge, and count it.
      const attrs = [...new Set(listed)];
      builder.report.duplicateAttributes += listed.length - attrs.length;
      const confidence = 1 / attrs.length;
      builder.setCategories(
        code,
        attrs.map((a) => ({ id: a, confidence })),
        loc,
      );
    });
  }
}
