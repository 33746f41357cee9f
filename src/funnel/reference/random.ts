/** The random CG: K distinct eligible items drawn uniformly, seeded per request. The floor of the funnel. */
import { deriveSeed, Rng } from "../../core/rng.ts";
import { type CandidateGenerator, perRequestGenerator } from "../candidateGenerator.ts";
import { type Catalog, eligibleItems } from "../catalog.ts";
import { subjectIndex } from "./shared.ts";

/**
 * Floyd's algorithm: k distinct integers from [0, n), O(k) draws whatever n is (k ≤ n), in the
 * order they were chosen (not uniform as an order: shuffle if the order matters).
 */
export function sampleDistinct(n: number, k: number, rng: Rng): number[] {
  const chosen = new Set<number>();
  for (let j = n - k; j < n; j++) {
    const t = rng.int(j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen];
}

export function createRandomGenerator(cat: Catalog, seed: number, name = "random"): CandidateGenerator {
  const eligibleCache = new Map<string, Int32Array>();
  return perRequestGenerator(name, (request, k) => {
    const subject = subjectIndex(cat, request, name);
    const pool = eligibleItems(cat, request.country, eligibleCache);
    const rng = new Rng(deriveSeed(seed, `cg-random/${request.id}`));
    // One extra draw so that dropping the subject item still leaves k.
    const picks = rng.shuffle(sampleDistinct(pool.length, Math.min(k + 1, pool.length), rng));
    const items = picks
      .map((p) => pool[p])
      .filter((i) => i !== subject)
      .slice(0, k);
    return items.map((i, r) => ({ item: cat.itemIds[i], score: items.length - r }));
  });
}
