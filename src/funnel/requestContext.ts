/**
 * A request's context as the simulator and the reference CGs use it: a sparse category vector over
 * the catalogue's categories `[C]`, and the subject item's index when the context is one.
 *
 * - Related-Items (`subjectItem`): the subject item's category vector; the subject is left out of
 *   candidates and never shown.
 * - Search (`categories`): the query's categories with their confidences; nothing is left out.
 *
 * Relevance and the context term of the true utility are cosines against this vector, so Search is
 * measured exactly like Related-Items with the query's categories in place of the subject item's.
 */
import { CtxrecError } from "../core/errors.ts";
import type { ContextCategory } from "./candidateGenerator.ts";
import { type Catalog, itemVector } from "./catalog.ts";
import type { SparseVec } from "./sparse.ts";

export interface ResolvedContext {
  /** The context's category vector (ids increasing). */
  vec: SparseVec;
  /** The subject item's catalogue index (Related-Items only). */
  subject?: number;
}

/** What a request must carry for its context to be resolved (a CG request or a world request). */
export type ContextSource =
  | { id: string; subjectItem: string }
  | { id: string; subjectItem?: undefined; categories: readonly ContextCategory[] };

/**
 * The context of `request`. Throws CTXREC_ERR_DATA_UNKNOWN_ID for a subject item or a query
 * category the catalogue lacks (`where` names the caller in the message).
 */
export function resolveContext(cat: Catalog, request: ContextSource, where: string): ResolvedContext {
  if (request.subjectItem !== undefined) {
    const s = cat.itemIndex.get(request.subjectItem);
    if (s === undefined) {
      throw new CtxrecError(
        "CTXREC_ERR_DATA_UNKNOWN_ID",
        `request '${request.id}' has subject item '${request.subjectItem}', which is not in items.jsonl; regenerate the world or fix requests.jsonl`,
        { param: `request.subjectItem (${where})` },
      );
    }
    return { vec: itemVector(cat, s), subject: s };
  }
  const acc = new Map<number, number>();
  for (const c of request.categories) {
    const idx = cat.categoryIndex.get(c.id);
    if (idx === undefined) {
      throw new CtxrecError(
        "CTXREC_ERR_DATA_UNKNOWN_ID",
        `request '${request.id}' has query category '${c.id}', which no item or truth/categories.jsonl knows; regenerate the world`,
        { param: `request.categories (${where})` },
      );
    }
    acc.set(idx, (acc.get(idx) ?? 0) + c.confidence);
  }
  const sorted = [...acc.entries()].sort((a, b) => a[0] - b[0]);
  return {
    vec: { ids: Int32Array.from(sorted, (e) => e[0]), values: Float64Array.from(sorted, (e) => e[1]) },
  };
}
