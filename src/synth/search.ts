/**
 * The Search surface of the synthetic world: for every Related-Items request, a sibling Search
 * request by the same user at the same time with the same current intent and the same held-out
 * next conversion, whose context is a QUERY (tokens) instead of a subject item.
 *
 * Token → category map (`search-lexicon.jsonl`, public: what a query-understanding service knows):
 *   `t<c>`   → {c: 1}                                  one token per category
 *   `fam<f>` → {c: 1/|f| for every category c of family f}   one broad token per family
 *
 * A query (seeded per request: `deriveSeed(worldSeed, "search:" + request id)`):
 *   1. with probability SPECIFIC_P the intent's own token `t<intent>`, else its family's `fam<f>`
 *      (a broad query);
 *   2. with probability REFINE_P a second token `t<c'>` of another category c' of the intent's
 *      family, uniform (a refinement that pulls toward a sibling topic).
 * Its categories (`queryCategories`) are the union of the tokens' categories, each at the highest
 * confidence any token gives it, by decreasing confidence. So every query category lies in the
 * intent's family and the intent itself is always among them.
 */
import path from "node:path";
import { CtxrecError } from "../core/errors.ts";
import { deriveSeed, Rng } from "../core/rng.ts";
import { readWorld } from "./read.ts";
import type { CategoryTruth, QueryToken, RequestTruth } from "./types.ts";
import { JsonlWriter } from "./writer.ts";

/** Chance that the first token names the intent itself (else its family). */
export const SPECIFIC_P = 0.7;
/** Chance of a second, refining token naming a sibling category. */
export const REFINE_P = 0.3;

export const SEARCH_FILE = "search.jsonl";
export const LEXICON_FILE = "search-lexicon.jsonl";
export const SEARCH_TRUTH_FILE = path.join("truth", "search.jsonl");

/** Members of each family, in category file order. */
function familyMembers(categories: ReadonlyMap<string, CategoryTruth>): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const c of categories.values()) {
    const list = out.get(c.family);
    if (list) list.push(c.id);
    else out.set(c.family, [c.id]);
  }
  return out;
}

/** The lexicon: one token per category, one per family (see the module comment). */
export function buildLexicon(categories: ReadonlyMap<string, CategoryTruth>): QueryToken[] {
  const out: QueryToken[] = [];
  for (const c of categories.values())
    out.push({ token: `t${c.id.slice(1)}`, categories: [{ id: c.id, confidence: 1 }] });
  const families = [...familyMembers(categories).entries()].sort((a, b) => a[0] - b[0]);
  for (const [f, members] of families) {
    // Rounded as items' confidences are; 1/|f| > 0 for any family size a world can have.
    const confidence = Math.round((1 / members.length) * 1000) / 1000 || 0.001;
    out.push({ token: `fam${f}`, categories: members.map((id) => ({ id, confidence })) });
  }
  return out;
}

/**
 * The query tokens of a search whose intent is category `intent`, drawn from `rng` (always two
 * uniform draws and, when refining, one more: the stream stays aligned whatever the outcome).
 */
export function drawQuery(
  intent: string,
  categories: ReadonlyMap<string, CategoryTruth>,
  rng: Rng,
  members: ReadonlyMap<number, readonly string[]> = familyMembers(categories),
): { tokens: string[]; specific: boolean } {
  const truth = categories.get(intent);
  if (truth === undefined) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_UNKNOWN_ID",
      `intent '${intent}' is not in truth/categories.jsonl`,
      {
        file: "truth/requests.jsonl",
        field: "intent",
      },
    );
  }
  const specific = rng.float() < SPECIFIC_P;
  const refine = rng.float() < REFINE_P;
  const tokens = [specific ? `t${intent.slice(1)}` : `fam${truth.family}`];
  if (refine) {
    const siblings = (members.get(truth.family) ?? []).filter((c) => c !== intent);
    if (siblings.length > 0) tokens.push(`t${siblings[rng.int(siblings.length)].slice(1)}`);
  }
  return { tokens, specific };
}

/**
 * The categories of a query: union over its tokens, each at the highest confidence a token gives
 * it, by decreasing confidence (ties in lexicon order). Throws on a token the lexicon lacks.
 */
export function queryCategories(
  tokens: readonly string[],
  lexicon: ReadonlyMap<string, QueryToken>,
  where = "query",
): { id: string; confidence: number }[] {
  const best = new Map<string, number>();
  for (const t of tokens) {
    const entry = lexicon.get(t);
    if (entry === undefined) {
      throw new CtxrecError(
        "CTXREC_ERR_DATA_UNKNOWN_ID",
        `query token '${t}' is not in ${LEXICON_FILE}; regenerate the world with --search`,
        { param: where },
      );
    }
    for (const c of entry.categories) best.set(c.id, Math.max(best.get(c.id) ?? 0, c.confidence));
  }
  // Map iteration order is first-seen order: a stable tie order.
  return [...best.entries()].sort((a, b) => b[1] - a[1]).map(([id, confidence]) => ({ id, confidence }));
}

/**
 * Writes search.jsonl, search-lexicon.jsonl and truth/search.jsonl into world folder `dir` from
 * its requests and truth (one search per Related-Items request, id `s<n>` for `r<n>`). Same world
 * and seed ⇒ identical files. Returns the number of search requests.
 */
export async function writeSearchSurface(dir: string, seed: number): Promise<number> {
  const world = await readWorld(dir);
  const lexicon = buildLexicon(world.categories);
  const lex = await JsonlWriter.open(path.join(dir, LEXICON_FILE));
  for (const t of lexicon) lex.line(JSON.stringify(t));
  await lex.close();
  const search = await JsonlWriter.open(path.join(dir, SEARCH_FILE));
  const truth = await JsonlWriter.open(path.join(dir, SEARCH_TRUTH_FILE));
  const members = familyMembers(world.categories);
  for (const r of world.requests) {
    const rt: RequestTruth | undefined = world.requestTruth.get(r.id);
    if (rt === undefined) {
      throw new CtxrecError("CTXREC_ERR_DATA_UNKNOWN_ID", `request '${r.id}' has no truth row`, {
        file: path.join(dir, "truth", "requests.jsonl"),
        field: "id",
      });
    }
    const id = `s${r.id.slice(1)}`;
    const q = drawQuery(rt.intent, world.categories, new Rng(deriveSeed(seed, `search:${r.id}`)), members);
    search.line(JSON.stringify({ id, user: r.user, query: q.tokens, time: r.time, next: r.next }));
    truth.line(JSON.stringify({ id, request: r.id, intent: rt.intent, specific: q.specific }));
    await search.maybeFlush();
    await truth.maybeFlush();
  }
  await search.close();
  await truth.close();
  return world.requests.length;
}
