/**
 * CSV folder reader: `items.csv` (required), `users.csv` (optional), `events.csv` (required), each
 * optionally `.gz`, UTF-8, comma-separated with a header row, RFC 4180 quoting (parsed by
 * `csv-parse`). Columns (any order; extra columns are an error, to catch typos):
 *
 *   items.csv   id, categories, [advertiser], [bid], [countries]
 *   users.csv   id, [age], [country], [gender], [occupation]
 *   events.csv  user, item, timestamp, [type]
 *
 * An empty cell is a missing value. `categories` is `cat:confidence` entries joined by `|`
 * (e.g. `shoes:0.7|running:0.3`; empty = no categories; the confidence follows the LAST `:`, so a
 * category id may itself contain `:` but not `|`). `countries` is codes joined by `|`. Numbers
 * (timestamp, bid, age, confidence) are decimal; a timestamp may also be an ISO-8601 string.
 */
import { basename } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { type CsvError, parse } from "csv-parse";
import { CtxrecError, type ErrorLocation } from "../../core/errors.ts";
import type { DatasetBuilder } from "../builder.ts";
import { type ProgressFn, readLines } from "../lines.ts";
import { eventSchema, itemSchema, parseRow, showValue, userSchema } from "../schema.ts";
import { findDataFile, requireDir } from "./files.ts";

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A cell as a number when it looks like one, else the raw string (so errors show what was written). */
function numberCell(s: string): number | string {
  return NUMBER.test(s.trim()) ? Number(s) : s;
}

/** Parses `a:0.7|b:0.3` into [{id, confidence}] (confidence a number when it looks like one). */
export function parseCategoryCell(
  cell: string,
  loc: ErrorLocation,
): { id: string; confidence: number | string }[] {
  if (cell.trim() === "") return [];
  return cell.split("|").map((entry, k) => {
    const at = entry.lastIndexOf(":");
    if (at <= 0) {
      throw new CtxrecError(
        "CTXREC_ERR_DATA_BAD_ROW",
        `entry ${k + 1} ${showValue(entry)} is not 'category:confidence'; write entries like shoes:0.7|running:0.3`,
        { ...loc, field: "categories" },
      );
    }
    return { id: entry.slice(0, at), confidence: numberCell(entry.slice(at + 1)) };
  });
}

/** A parsed record with csv-parse's `info` (lines = the line the record ends on). */
interface CsvRecord {
  record: string[];
  info: { lines: number };
}

interface TableSpec {
  required: readonly string[];
  optional: readonly string[];
}

const ITEMS: TableSpec = { required: ["id", "categories"], optional: ["advertiser", "bid", "countries"] };
const USERS: TableSpec = { required: ["id"], optional: ["age", "country", "gender", "occupation"] };
const EVENTS: TableSpec = { required: ["user", "item", "timestamp"], optional: ["type"] };

function checkHeader(header: string[], spec: TableSpec, file: string): void {
  const known = [...spec.required, ...spec.optional];
  const expected = `columns ${spec.required.join(", ")} and optionally ${spec.optional.join(", ")}`;
  for (const h of header) {
    if (!known.includes(h)) {
      throw new CtxrecError(
        "CTXREC_ERR_DATA_BAD_ROW",
        `unknown column ${showValue(h)}; expected ${expected}`,
        {
          file,
          line: 1,
          field: "header",
        },
      );
    }
  }
  for (const r of spec.required) {
    if (!header.includes(r)) {
      throw new CtxrecError(
        "CTXREC_ERR_DATA_BAD_ROW",
        `missing column ${showValue(r)}; expected ${expected}`,
        {
          file,
          line: 1,
          field: "header",
        },
      );
    }
  }
  if (new Set(header).size !== header.length) {
    throw new CtxrecError("CTXREC_ERR_DATA_BAD_ROW", "a column name appears twice; name each column once", {
      file,
      line: 1,
      field: "header",
    });
  }
}

function csvErrorToCtxrec(err: CsvError, file: string): CtxrecError {
  const line = (err as CsvError & { lines?: number }).lines;
  return new CtxrecError(
    "CTXREC_ERR_DATA_BAD_ROW",
    `malformed CSV (${err.message}); wrap fields holding commas, quotes or newlines in double quotes and double any inner quote`,
    { file, line },
    { cause: err },
  );
}

/**
 * Streams one CSV table: validates the header against `spec`, then calls `onRow(row, loc)` with
 * non-empty cells by column name, under the builder's bad-row policy.
 */
async function readTable(
  path: string,
  spec: TableSpec,
  builder: DatasetBuilder,
  onRow: (row: Record<string, string>, loc: ErrorLocation) => void,
  onProgress?: ProgressFn,
): Promise<void> {
  const file = basename(path);
  const parser = parse({
    info: true,
    skip_empty_lines: true,
    relax_column_count: true, // field counts are checked below, per row, so --skip-invalid can skip them
    skip_records_with_error: builder.skipping,
  });
  parser.on("skip", (err: CsvError) => builder.invalid(csvErrorToCtxrec(err, file)));
  async function* text() {
    for await (const batch of readLines(path, { onProgress })) yield batch.map((l) => `${l.text}\n`).join("");
  }
  let header: string[] | undefined;
  let rows = 0;
  const consume = (record: string[], line: number): void => {
    if (header === undefined) {
      header = record.map((h) => h.trim());
      checkHeader(header, spec, file);
      return;
    }
    const cols = header;
    rows++;
    builder.row(() => {
      if (record.length !== cols.length) {
        throw new CtxrecError(
          "CTXREC_ERR_DATA_BAD_ROW",
          `expected ${cols.length} fields (as in the header), got ${record.length}; check for a missing or extra comma`,
          { file, line },
        );
      }
      const row: Record<string, string> = {};
      for (let c = 0; c < cols.length; c++) if (record[c] !== "") row[cols[c]] = record[c];
      onRow(row, { file, line });
    });
  };
  // pipeline() may reject with an AbortError instead of the consumer's own error: keep ours.
  let failure: unknown;
  try {
    await pipeline(Readable.from(text()), parser, async (records: AsyncIterable<CsvRecord>) => {
      try {
        for await (const { record, info } of records) consume(record, info.lines);
      } catch (err) {
        failure = err;
        throw err;
      }
    });
  } catch (caught) {
    const err = failure ?? caught;
    if (err instanceof CtxrecError) throw err;
    if ((err as { code?: string }).code?.startsWith("CSV_")) throw csvErrorToCtxrec(err as CsvError, file);
    throw err;
  }
  if (rows === 0) {
    throw new CtxrecError("CTXREC_ERR_DATA_EMPTY", "file has a header but no data rows; add rows", { file });
  }
}

/** Reads a CSV folder into `builder` (items, then users, then events). */
export async function readCsvFolder(
  dir: string,
  builder: DatasetBuilder,
  onProgress?: ProgressFn,
): Promise<void> {
  requireDir(dir, "CSV data");
  const itemsPath = findDataFile(dir, "items.csv", true) as string;
  const usersPath = findDataFile(dir, "users.csv", false);
  const eventsPath = findDataFile(dir, "events.csv", true) as string;

  await readTable(
    itemsPath,
    ITEMS,
    builder,
    (row, loc) => {
      const raw = {
        id: row.id,
        categories: parseCategoryCell(row.categories ?? "", loc),
        advertiser: row.advertiser,
        bid: row.bid === undefined ? undefined : numberCell(row.bid),
        countries: row.countries === undefined ? undefined : row.countries.split("|"),
      };
      builder.addItem(parseRow(itemSchema, raw, loc), loc);
    },
    onProgress,
  );
  builder.closeCatalogue();
  if (usersPath !== undefined) {
    await readTable(
      usersPath,
      USERS,
      builder,
      (row, loc) => {
        const raw = { ...row, age: row.age === undefined ? undefined : numberCell(row.age) };
        builder.addUser(parseRow(userSchema, raw, loc), loc);
      },
      onProgress,
    );
  }
  await readTable(
    eventsPath,
    EVENTS,
    builder,
    (row, loc) => {
      const raw = { ...row, timestamp: row.timestamp === undefined ? undefined : numberCell(row.timestamp) };
      const ev = parseRow(eventSchema, raw, loc);
      builder.addEvent(ev.user, ev.item, ev.timestamp, ev.type, loc);
    },
    onProgress,
  );
}
