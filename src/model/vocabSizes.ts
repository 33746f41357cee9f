/** The vocabulary sizes a model is built for, read off a data set (stored in the artifact manifest). */
import type { CompiledDataset } from "../data/dataset.ts";
import { DEMOGRAPHIC_FIELDS } from "../data/schema.ts";
import type { VocabSizes } from "./config.ts";
import { gapBucket } from "./encoder.ts";

/**
 * Sizes of every table. `hasTimeGaps` is true when consecutive events of users fall into more than
 * one gap bucket (S3-Rec files have synthetic 1-second steps: one bucket, nothing to learn).
 */
export function vocabSizesOf(ds: CompiledDataset): VocabSizes {
  const demographics: Record<string, number> = {};
  for (const f of DEMOGRAPHIC_FIELDS) demographics[f] = ds.demographics[f].vocab.size;
  let seen = -1;
  let hasTimeGaps = false;
  for (let u = 1; u < ds.offsets.length - 1 && !hasTimeGaps; u++) {
    for (let e = ds.offsets[u] + 1; e < ds.offsets[u + 1]; e++) {
      const b = gapBucket(ds.timestamps[e] - ds.timestamps[e - 1]);
      if (seen === -1) seen = b;
      else if (b !== seen) {
        hasTimeGaps = true;
        break;
      }
    }
  }
  return {
    items: ds.itemVocab.size,
    categories: Math.max(1, ds.categoryVocab.size),
    types: ds.typeVocab.size,
    demographics,
    hasTimeGaps,
  };
}
