/**
 * Test helpers for `stale-context` (not exported from the package): small data sets with real
 * timestamps and categories (a CSV folder), and a spy scorer that records everything it is handed.
 */
import type { CompiledDataset } from "../data/dataset.ts";
import { loadDataset } from "../data/load.ts";
import { tempFolder } from "../data/testFiles.ts";
import type { DirectScorer, HistoryBatch } from "./scorer.ts";

/** Hour 0 of the test data sets (any Unix time works; a round one keeps the arithmetic readable). */
export const T0 = 1_700_000_000;

/**
 * A CSV data set: `events[user]` = [item, hours after T0] in time order, `categories[item]` = its
 * category ids (confidence 1/count each, or `id:confidence` to set it; items missing from the map have none; items only in the map
 * are in the catalogue without events).
 */
export async function timedDataset(
  events: Record<string, [string, number][]>,
  categories: Record<string, string[]> = {},
): Promise<CompiledDataset> {
  const tmp = tempFolder("ctxrec-stale-");
  try {
    // The catalogue: every item of an event or of `categories` (an item without events is kept).
    const items = new Set([
      ...Object.values(events).flatMap((ev) => ev.map(([i]) => i)),
      ...Object.keys(categories),
    ]);
    const itemRows = [...items].map((i) => {
      const cats = categories[i] ?? [];
      return `${i},${cats.map((c) => (c.includes(":") ? c : `${c}:${1 / cats.length}`)).join("|")}`;
    });
    const eventRows = Object.entries(events).flatMap(([u, ev]) =>
      ev.map(([i, h]) => `${u},${i},${T0 + h * 3600}`),
    );
    tmp.write("items.csv", `id,categories\n${itemRows.join("\n")}\n`);
    tmp.write("events.csv", `user,item,timestamp\n${eventRows.join("\n")}\n`);
    return await loadDataset({ format: "csv", path: tmp.dir });
  } finally {
    tmp.remove();
  }
}

/** What a spy saw of one batch row. */
export interface SeenRow {
  user: number;
  /** History item codes, oldest first. */
  items: number[];
  /** History timestamps. */
  timestamps: number[];
  /** Context category codes, or undefined when the batch had no context. */
  categories?: number[];
  confidences?: number[];
}

/** A direct scorer returning all-zero scores that records every row of every batch. */
export function spyScorer(
  N: number,
  name = "spy",
): { scorer: DirectScorer; rows: SeenRow[]; batches: HistoryBatch[] } {
  const rows: SeenRow[] = [];
  const batches: HistoryBatch[] = [];
  const scorer: DirectScorer = {
    kind: "direct",
    name,
    async scoreAll(batch) {
      batches.push(batch);
      for (let b = 0; b < batch.size; b++) {
        const h0 = batch.historyOffsets[b];
        const h1 = batch.historyOffsets[b + 1];
        const row: SeenRow = {
          user: batch.users[b],
          items: Array.from(batch.items.subarray(h0, h1)),
          timestamps: Array.from(batch.timestamps.subarray(h0, h1)),
        };
        const c = batch.context;
        if (c !== undefined) {
          row.categories = Array.from(c.categories.subarray(c.offsets[b], c.offsets[b + 1]));
          row.confidences = Array.from(c.confidences.subarray(c.offsets[b], c.offsets[b + 1]));
        }
        rows.push(row);
      }
      return new Float32Array(batch.size * N);
    },
  };
  return { scorer, rows, batches };
}
