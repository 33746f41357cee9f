/**
 * The two surfaces the funnel simulates: Related-Items (requests.jsonl, context = subject item) and
 * Search (search.jsonl, context = the query's categories through the world's lexicon). Both run
 * through the same simulator, CGs and metrics; Search relevance is the cosine to the query's
 * categories where Related-Items uses the subject item's.
 */
import { CtxrecError } from "../core/errors.ts";
import { queryCategories } from "../synth/search.ts";
import type { World } from "../synth/types.ts";
import type { FunnelRequest, ResolvedSearchRequest } from "./candidateGenerator.ts";

export const SURFACES = ["related", "search"] as const;
export type Surface = (typeof SURFACES)[number];

/** The world's Search requests with their query categories resolved through its lexicon. */
export function searchFunnelRequests(
  world: Pick<World, "dir" | "search" | "lexicon">,
): ResolvedSearchRequest[] {
  if (world.search === undefined || world.lexicon === undefined) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_MISSING_FILE",
      "the world has no Search surface; generate it with `ctxrec synth --search`",
      { file: `${world.dir}/search.jsonl` },
    );
  }
  const lexicon = world.lexicon;
  return world.search.map((s, n) => ({
    ...s,
    categories: queryCategories(s.query, lexicon, `search.jsonl:${n + 1}: query`),
  }));
}

/** The requests of `surface` in `world`. */
export function surfaceRequests(
  world: Pick<World, "dir" | "requests" | "search" | "lexicon">,
  surface: Surface,
): readonly FunnelRequest[] {
  return surface === "related" ? world.requests : searchFunnelRequests(world);
}

/** The surfaces a world offers by default: Related-Items, and Search when it has search.jsonl. */
export function defaultSurfaces(world: Pick<World, "search">): Surface[] {
  return world.search !== undefined ? ["related", "search"] : ["related"];
}
