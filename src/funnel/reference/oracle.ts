/**
 * The oracle CG: reads `truth/` through the simulator's own utility model and returns the K eligible
 * items with the highest noiseless auction score U · bid — what the downstream ranker would pick
 * if it made no estimation error. The ceiling of the funnel.
 */

import { type CandidateGenerator, perRequestGenerator } from "../candidateGenerator.ts";
import { type Catalog, eligibleItems } from "../catalog.ts";
import { resolveContext } from "../requestContext.ts";
import { topK } from "../stats.ts";
import type { UtilityModel } from "../utility.ts";
import { tieRanks } from "./shared.ts";

export function createOracleGenerator(
  cat: Catalog,
  utility: UtilityModel,
  seed: number,
  name = "oracle",
): CandidateGenerator {
  const eligibleCache = new Map<string, Int32Array>();
  const tie = tieRanks(cat.itemIds.length, seed, "cg-oracle/ties");
  return perRequestGenerator(name, (request, k) => {
    const { vec, subject } = resolveContext(cat, request, `CG ${name}`);
    const u = utility.forContext(request.user, vec);
    const score = (i: number) => (i === subject ? Number.NaN : u.of(i));
    return topK(eligibleItems(cat, request.country, eligibleCache), k, score, (i) => tie[i]).map((b) => ({
      item: cat.itemIds[b.index],
      score: b.score,
    }));
  });
}
