/**
 * Result rows of the `loo` benchmarks (bench:quality, bench:peer), kept in one JSON file that
 * several runs add to: rows of this run replace those with the same key, the rest stay.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";

/** Reads `jsonFile`, puts `produced` in (replacing rows with the same key), writes it, returns the rows. */
export function mergeLooRows<R>(jsonFile: string, produced: readonly R[], key: (r: R) => string): R[] {
  const rows: R[] = existsSync(jsonFile)
    ? (JSON.parse(readFileSync(jsonFile, "utf8")) as { rows: R[] }).rows
    : [];
  for (const r of produced) {
    const i = rows.findIndex((x) => key(x) === key(r));
    if (i >= 0) rows[i] = r;
    else rows.push(r);
  }
  writeFileSync(
    jsonFile,
    `${JSON.stringify({ protocol: "loo (test targets, filtered full ranking)", rows }, null, 2)}\n`,
  );
  return rows;
}

/** A metric with 4 decimals; NaN (no figure) is written to JSON as null: both print as "–". */
export const metric4 = (x: number | null | undefined): string =>
  x === undefined || x === null || Number.isNaN(x) ? "–" : x.toFixed(4);
