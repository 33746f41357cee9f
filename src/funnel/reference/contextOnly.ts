/**
 * The context-only CG: the K eligible items nearest to the context (the subject item, or a Search
 * query's categories) by cosine of their category-confidence vectors. No user signal at all. Items sharing no category with the subject
 * (cosine 0) fill the remaining slots in a seeded random order.
 */

import { type CandidateGenerator, perRequestGenerator } from "../candidateGenerator.ts";
import { type Catalog, isEligible, similarityToVector } from "../catalog.ts";
import { resolveContext } from "../requestContext.ts";
import { topK } from "../stats.ts";
import { orderByRank, tieRanks } from "./shared.ts";

/** Items per category `[C][…]`: only items sharing a category with the subject can have cosine > 0. */
function invertedIndex(cat: Catalog): number[][] {
  const lists: number[][] = cat.categoryIds.map(() => []);
  for (let i = 0; i < cat.itemIds.length; i++) {
    for (let p = cat.catOffsets[i]; p < cat.catOffsets[i + 1]; p++) lists[cat.catIds[p]].push(i);
  }
  return lists;
}

export function createContextOnlyGenerator(
  cat: Catalog,
  seed: number,
  name = "context-only",
): CandidateGenerator {
  const byCategory = invertedIndex(cat);
  const tie = tieRanks(cat.itemIds.length, seed, "cg-context/ties");
  const fillOrder = orderByRank(tie);
  return perRequestGenerator(name, (request, k) => {
    const { vec: sv, subject } = resolveContext(cat, request, `CG ${name}`);
    // The subject item (Related-Items) is never a candidate; Search has none to leave out.
    const seen = new Set<number>(subject === undefined ? [] : [subject]);
    const pool: number[] = [];
    for (let j = 0; j < sv.ids.length; j++) {
      for (const i of byCategory[sv.ids[j]]) {
        if (!seen.has(i) && isEligible(cat, i, request.country)) pool.push(i);
        seen.add(i);
      }
    }
    const sim = similarityToVector(cat, sv);
    const best = topK(pool, k, sim, (i) => tie[i]);
    const out = best.map((b) => ({ item: cat.itemIds[b.index], score: b.score }));
    for (let r = 0; r < fillOrder.length && out.length < k; r++) {
      const i = fillOrder[r];
      if (!seen.has(i) && isEligible(cat, i, request.country)) out.push({ item: cat.itemIds[i], score: 0 });
    }
    return out;
  });
}
