/**
 * The popularity CG: the K eligible items with the most conversions in events.jsonl, the same list
 * for everyone (but for eligibility). Context-free and personalisation-free.
 */
import { type CandidateGenerator, perRequestGenerator } from "../candidateGenerator.ts";
import { type Catalog, isEligible } from "../catalog.ts";
import { subjectIndex, tieRanks } from "./shared.ts";

/** Conversions per item id, counted from a stream of events (e.g. `readWorldEvents(dir)`). */
export async function countEvents(events: AsyncIterable<{ item: string }>): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for await (const e of events) counts.set(e.item, (counts.get(e.item) ?? 0) + 1);
  return counts;
}

/**
 * @param counts conversions per item id (items absent count 0; ids not in the catalogue are ignored)
 * @param seed breaks ties between equally popular items
 */
export function createPopularityGenerator(
  cat: Catalog,
  counts: ReadonlyMap<string, number>,
  seed: number,
  name = "popularity",
): CandidateGenerator {
  const n = cat.itemIds.length;
  const count = Float64Array.from({ length: n }, (_, i) => counts.get(cat.itemIds[i]) ?? 0);
  const tie = tieRanks(n, seed, "cg-popularity/ties");
  const ranked = Int32Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => count[b] - count[a] || tie[a] - tie[b],
  );
  return perRequestGenerator(name, (request, k) => {
    const subject = subjectIndex(cat, request, name);
    const out = [];
    for (let r = 0; r < n && out.length < k; r++) {
      const i = ranked[r];
      if (i !== subject && isEligible(cat, i, request.country))
        out.push({ item: cat.itemIds[i], score: count[i] });
    }
    return out;
  });
}
