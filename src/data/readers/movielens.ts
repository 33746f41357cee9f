/**
 * MovieLens-100K folder reader (the GroupLens `ml-100k` files, no header rows):
 *
 *   u.item  `|`-separated, ISO-8859-1, 24 fields: id | title | release | video release | IMDb URL |
 *           19 genre flags (0/1). Categories = the genres whose flag is 1, each with confidence
 *           1/#genres (the "unknown" genre flag counts as a genre); no flag set → no categories.
 *   u.user  `|`-separated `id | age | gender | occupation | zip` (zip ignored). Optional.
 *   u.data  tab-separated `user item rating timestamp` (Unix seconds). The rating is validated
 *           (integer 1..5) but not kept: every rating is an interaction, as in the sequential
 *           recommendation literature.
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { CtxrecError, type ErrorLocation } from "../../core/errors.ts";
import type { DatasetBuilder } from "../builder.ts";
import { type ProgressFn, readLines } from "../lines.ts";
import { parseRow, showValue, userSchema } from "../schema.ts";
import { requireDir } from "./files.ts";

/** The 19 genres of u.item's flag columns, in column order (as in u.genre). */
export const ML100K_GENRES = [
  "unknown",
  "Action",
  "Adventure",
  "Animation",
  "Children's",
  "Comedy",
  "Crime",
  "Documentary",
  "Drama",
  "Fantasy",
  "Film-Noir",
  "Horror",
  "Musical",
  "Mystery",
  "Romance",
  "Sci-Fi",
  "Thriller",
  "War",
  "Western",
] as const;

function fieldCount(fields: string[], expected: number, sep: string, loc: ErrorLocation): void {
  if (fields.length !== expected) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_BAD_ROW",
      `expected ${expected} ${sep}-separated fields, got ${fields.length}; the line may be truncated or have a stray separator`,
      loc,
    );
  }
}

function nonEmpty(value: string, field: string, loc: ErrorLocation): string {
  if (value === "") {
    throw new CtxrecError("CTXREC_ERR_DATA_BAD_ROW", "expected a non-empty id, got an empty field", {
      ...loc,
      field,
    });
  }
  return value;
}

function integer(value: string, field: string, loc: ErrorLocation, min: number, max: number): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= min && n <= max)) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_BAD_ROW",
      `expected an integer in [${min}, ${max}], got ${showValue(value)}`,
      { ...loc, field },
    );
  }
  return n;
}

/** Reads an ml-100k folder into `builder` (u.item, then u.user if present, then u.data). */
export async function readMovieLens100k(
  dir: string,
  builder: DatasetBuilder,
  onProgress?: ProgressFn,
): Promise<void> {
  requireDir(dir, "MovieLens-100K");
  const itemPath = join(dir, "u.item");
  for await (const batch of readLines(itemPath, { encoding: "latin1", onProgress }))
    for (const { text, line } of batch) {
      if (text.trim() === "") continue;
      builder.row(() => {
        const loc = { file: "u.item", line };
        const f = text.split("|");
        fieldCount(f, 24, "|", loc);
        const id = nonEmpty(f[0], "item_id", loc);
        const genres: string[] = [];
        for (let g = 0; g < 19; g++) {
          const flag = f[5 + g];
          if (flag !== "0" && flag !== "1") {
            throw new CtxrecError(
              "CTXREC_ERR_DATA_BAD_ROW",
              `expected a genre flag 0 or 1, got ${showValue(flag)}`,
              {
                ...loc,
                field: ML100K_GENRES[g],
              },
            );
          }
          if (flag === "1") genres.push(ML100K_GENRES[g]);
        }
        const confidence = 1 / genres.length;
        builder.addItem({ id, categories: genres.map((g) => ({ id: g, confidence })) }, loc);
      });
    }
  builder.closeCatalogue();

  const userPath = join(dir, "u.user");
  if (existsSync(userPath)) {
    for await (const batch of readLines(userPath, { onProgress }))
      for (const { text, line } of batch) {
        if (text.trim() === "") continue;
        builder.row(() => {
          const loc = { file: "u.user", line };
          const f = text.split("|");
          fieldCount(f, 5, "|", loc);
          const age = integer(f[1], "age", loc, 0, 150);
          const user = parseRow(
            userSchema,
            {
              id: nonEmpty(f[0], "user_id", loc),
              age,
              gender: f[2] || undefined,
              occupation: f[3] || undefined,
            },
            loc,
          );
          builder.addUser(user, loc);
        });
      }
  }

  const dataPath = join(dir, "u.data");
  for await (const batch of readLines(dataPath, { onProgress }))
    for (const { text, line } of batch) {
      if (text.trim() === "") continue;
      builder.row(() => {
        const loc = { file: "u.data", line };
        const f = text.split("\t");
        fieldCount(f, 4, "tab", loc);
        const user = nonEmpty(f[0], "user_id", loc);
        const item = nonEmpty(f[1], "item_id", loc);
        integer(f[2], "rating", loc, 1, 5);
        const ts = integer(f[3], "timestamp", loc, 0, Number.MAX_SAFE_INTEGER);
        builder.addEvent(user, item, ts, undefined, loc);
      });
    }
}
