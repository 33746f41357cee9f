/**
 * Helpers the reference CGs share: resolving a request's subject item, and a seeded permutation of
 * the catalogue that breaks score ties (so no CG inherits an accidental order of items.jsonl, which
 * a generator may have written by popularity).
 */
import { deriveSeed, Rng } from "../../core/rng.ts";
import type { CandidateRequest } from "../candidateGenerator.ts";
import type { Catalog } from "../catalog.ts";
import { resolveContext } from "../requestContext.ts";

/**
 * The catalogue index of the request's subject item, or undefined for a Search request (nothing to
 * leave out); throws CTXREC_ERR_DATA_UNKNOWN_ID for an unknown subject item.
 */
export function subjectIndex(cat: Catalog, request: CandidateRequest, cg: string): number | undefined {
  return request.subjectItem === undefined ? undefined : resolveContext(cat, request, `CG ${cg}`).subject;
}

/** A seeded rank per item `[N]` (a random permutation): lower rank wins a score tie. */
export function tieRanks(n: number, seed: number, label: string): Int32Array {
  const order = new Rng(deriveSeed(seed, label)).shuffle(Int32Array.from({ length: n }, (_, i) => i));
  const rank = new Int32Array(n);
  order.forEach((item, r) => {
    rank[item] = r;
  });
  return rank;
}

/** Item indices ordered by `rank` `[N]` (inverse of the permutation). */
export function orderByRank(rank: Int32Array): Int32Array {
  const order = new Int32Array(rank.length);
  rank.forEach((r, item) => {
    order[r] = item;
  });
  return order;
}
