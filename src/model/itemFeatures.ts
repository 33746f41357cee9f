/**
 * The item side information the item tower reads: each item's categories and confidences, as a
 * CSR copy taken from the data set when the model is built and stored in the model artifact, so a
 * trained model can embed its catalogue without the data set. Also the padded per-batch layout the
 * tower consumes. Shapes: N items, U unique items of a batch, Kc = max categories per item.
 */
import type { CompiledDataset } from "../data/dataset.ts";

/** Item → categories CSR (as `CompiledDataset`'s catOffsets/catIds/catConf). */
export interface ItemFeatures {
  /** [N + 1] offsets; categories of item i are catIds[catOffsets[i] .. catOffsets[i+1]-1]. */
  catOffsets: Int32Array;
  /** [Cn] category codes. */
  catIds: Int32Array;
  /** [Cn] confidences in (0, 1]. */
  catConf: Float32Array;
  /** Largest number of categories of one item (Kc ≥ 1 so padded tensors are never empty). */
  maxCategories: number;
}

/** Copies the item → category CSR out of a data set. */
export function itemFeaturesOf(ds: CompiledDataset): ItemFeatures {
  return withMax(Int32Array.from(ds.catOffsets), Int32Array.from(ds.catIds), Float32Array.from(ds.catConf));
}

export function withMax(catOffsets: Int32Array, catIds: Int32Array, catConf: Float32Array): ItemFeatures {
  let maxCategories = 1;
  for (let i = 0; i + 1 < catOffsets.length; i++) {
    maxCategories = Math.max(maxCategories, catOffsets[i + 1] - catOffsets[i]);
  }
  return { catOffsets, catIds, catConf, maxCategories };
}

/** Padded categories of a list of items: ids [U, Kc] (0 = empty slot) and weights [U, Kc]. */
export interface PaddedCategories {
  k: number;
  ids: Int32Array;
  /** Confidences normalised to sum 1 per item (0 for empty slots and for items with no category). */
  weights: Float32Array;
}

/**
 * The categories of `items` [U], padded to Kc slots, with confidences normalised per item: the
 * tower's category term is then a weighted MEAN, so items with many categories do not get larger
 * vectors than items with few.
 */
export function paddedCategories(f: ItemFeatures, items: Int32Array): PaddedCategories {
  const k = f.maxCategories;
  const ids = new Int32Array(items.length * k);
  const weights = new Float32Array(items.length * k);
  for (let u = 0; u < items.length; u++) {
    const i = items[u];
    if (i + 1 >= f.catOffsets.length) continue; // unknown item: no categories
    const a = f.catOffsets[i];
    const b = f.catOffsets[i + 1];
    let total = 0;
    for (let j = a; j < b; j++) total += f.catConf[j];
    for (let j = a; j < b; j++) {
      ids[u * k + (j - a)] = f.catIds[j];
      weights[u * k + (j - a)] = total > 0 ? f.catConf[j] / total : 0;
    }
  }
  return { k, ids, weights };
}
