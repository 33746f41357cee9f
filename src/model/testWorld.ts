/**
 * Test helper (not exported from the package): a toy sequence task whose answer a sequence model
 * must learn and popularity cannot: items 1..n on a cycle, every user walks it from a seeded start
 * (next item = current + 1 mod n), so all items are equally popular. Items carry one category each
 * (item mod 4), written as an S3-Rec attributes file so the item tower and the pseudo-context have
 * side information.
 */

import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Rng } from "../core/rng.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import { loadDataset } from "../data/load.ts";
import { tempFolder } from "../data/testFiles.ts";
import type { ModelManifest, ModelVocabs } from "./artifact.ts";
import { ITEM_COUNTRY_CODES, ITEM_COUNTRY_OFFSETS } from "./itemCountries.ts";

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

/**
 * Rewrites the model folder `dir` as a folder written before item countries were stored: drops
 * the two country arrays from weights.bin and its table and `countries` from vocab.json, and
 * re-hashes the version (sha256 of weights.bin ‖ vocab.json ‖ JSON(config), as `saveModel`).
 * Returns the new version.
 */
export function stripItemCountries(dir: string): string {
  const mFile = path.join(dir, "manifest.json");
  const wFile = path.join(dir, "weights.bin");
  const vFile = path.join(dir, "vocab.json");
  const manifest = JSON.parse(readFileSync(mFile, "utf8")) as ModelManifest;
  const dropped = new Set([ITEM_COUNTRY_OFFSETS, ITEM_COUNTRY_CODES]);
  const kept = manifest.weights.filter((w) => !dropped.has(w.name));
  // The country arrays are written last: cut the file where the first of them began.
  const cut = Math.min(...manifest.weights.filter((w) => dropped.has(w.name)).map((w) => w.offset));
  const weights = readFileSync(wFile).subarray(0, cut);
  const { countries: _dropped, ...vocabs } = JSON.parse(readFileSync(vFile, "utf8")) as ModelVocabs;
  const vocab = Buffer.from(JSON.stringify(vocabs));
  manifest.weights = kept;
  manifest.version = createHash("sha256")
    .update(weights)
    .update(vocab)
    .update(JSON.stringify(manifest.config))
    .digest("hex");
  writeFileSync(wFile, weights);
  writeFileSync(vFile, vocab);
  writeFileSync(mFile, JSON.stringify(manifest, null, 2));
  return manifest.version;
}
