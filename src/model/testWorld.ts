/**
 * Test helper (not exported from the package): a toy sequence task whose answer a sequence model
 * must learn and popularity cannot: items 1..n on a cycle, every user walks it from a seeded start
 * (next item = current + 1 mod n), so all items are equally popular. Items carry one category each
 * (item mod 4), written as an S3-Rec attributes file so the item tower and the pseudo-context have
 * side information.
 */

import { Rng } from "../core/rng.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import { loadDataset } from "../data/load.ts";
import { tempFolder } from "../data/testFiles.ts";

export interface ToyWorldArgs {
  users?: number;
  items?: number;
  length?: number;
  seed?: number;
  /** Replace the last (test) item of user 1 with this item id (leakage tests). */
  lastItemOfUser1?: number;
}

export async function toyWorld(a: ToyWorldArgs = {}): Promise<CompiledDataset> {
  const users = a.users ?? 60;
  const n = a.items ?? 20;
  const len = a.length ?? 8;
  const rng = new Rng(a.seed ?? 7);
  const lines: string[] = [];
  const seen = new Set<number>();
  for (let u = 1; u <= users; u++) {
    const s = rng.int(n);
    const seq = Array.from({ length: len }, (_, t) => 1 + ((s + t) % n));
    if (u === 1 && a.lastItemOfUser1 !== undefined) seq[len - 1] = a.lastItemOfUser1;
    for (const i of seq) seen.add(i);
    lines.push(`${u} ${seq.join(" ")}`);
  }
  const attrs: Record<string, number[]> = {};
  // Only items that occur (the reader refuses attributes of unknown items).
  for (const i of seen) attrs[String(i)] = [1 + (i % 4)];
  const tmp = tempFolder("ctxrec-model-");
  try {
    return await loadDataset({
      format: "s3rec",
      path: tmp.write("seq.txt", `${lines.join("\n")}\n`),
      attributes: tmp.write("attrs.json", JSON.stringify(attrs)),
    });
  } finally {
    tmp.remove();
  }
}
