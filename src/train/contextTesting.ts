/**
 * Test helper: builds the item → categories CSR arrays of a tiny hand-written catalogue.
 * Not exported from the package.
 */
import type { ItemCategories } from "./contextBatch.ts";

/**
 * @param items per real item (codes 1..N−1, in order) its [category code, confidence] pairs;
 *   item 0 (padding) gets no categories
 */
export function catalogue(items: ReadonlyArray<ReadonlyArray<readonly [number, number]>>): ItemCategories {
  const catOffsets = new Int32Array(items.length + 2);
  const ids: number[] = [];
  const conf: number[] = [];
  items.forEach((cats, i) => {
    for (const [c, w] of cats) {
      ids.push(c);
      conf.push(w);
    }
    catOffsets[i + 2] = ids.length;
  });
  return { catOffsets, catIds: Int32Array.from(ids), catConf: Float32Array.from(conf) };
}
