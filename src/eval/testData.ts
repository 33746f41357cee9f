/** Test helper: a small CompiledDataset from S3-Rec-style sequences (`user item item …`, time order). */
import type { CompiledDataset } from "../data/dataset.ts";
import { loadDataset } from "../data/load.ts";
import { tempFolder } from "../data/testFiles.ts";

/**
 * Loads `sequences` (user id → item ids in time order) through the s3rec reader. Use
 * `ds.itemVocab.get(id)` / `ds.userVocab.get(id)` for the codes.
 */
export async function datasetFromSequences(sequences: Record<string, string[]>): Promise<CompiledDataset> {
  const tmp = tempFolder("ctxrec-eval-");
  try {
    const text = Object.entries(sequences)
      .map(([u, items]) => `${u} ${items.join(" ")}`)
      .join("\n");
    return await loadDataset({ format: "s3rec", path: tmp.write("seq.txt", `${text}\n`) });
  } finally {
    tmp.remove();
  }
}
