/**
 * The contract between the synthetic world (`src/synth`) and its consumers (`src/funnel`, later
 * the evaluation protocols). A world on disk is a folder:
 *
 *   items.jsonl, users.jsonl, events.jsonl   — the canonical data-layer schema, exactly what a real
 *                                              user of ctxrec has (events carry no context)
 *   requests.jsonl                           — onsite Related-Items requests, one `OnsiteRequest` a line
 *   truth/categories.jsonl                   — `CategoryTruth` a line (family of each category)
 *   truth/users.jsonl                        — `UserTruth` a line (long-term interest mixture)
 *   truth/requests.jsonl                     — `RequestTruth` a line (the current intent)
 *   world.json                               — `WorldManifest`
 *
 * Optional Search surface (`ctxrec synth --search`, `src/synth/search.ts`; older worlds lack it):
 *
 *   search.jsonl                             — one `SearchRequest` a line (the query instead of a subject item)
 *   search-lexicon.jsonl                     — `QueryToken` a line: the public token → category map
 *   truth/search.jsonl                       — `SearchTruth` a line
 *
 * Models never read `truth/`; the funnel simulator and oracle CG do.
 */

/** An item as in items.jsonl (the data layer's canonical item). */
export interface WorldItem {
  id: string;
  categories: { id: string; confidence: number }[];
  advertiser?: string;
  bid?: number;
  countries?: string[];
}

/** A user as in users.jsonl (the data layer's canonical user). */
export interface WorldUser {
  id: string;
  age?: number;
  country?: string;
  gender?: string;
}

/** One onsite Related-Items request with its held-out next conversion (evaluation only). */
export interface OnsiteRequest {
  id: string;
  user: string;
  subjectItem: string;
  /** Unix seconds; later than every event of this user in events.jsonl. */
  time: number;
  /** The user's next offsite conversion after the request: the recall target. Held out of events.jsonl. */
  next: { item: string; timestamp: number };
}

/**
 * One onsite Search request: the sibling of Related-Items request `truth.request` (same user, time,
 * intent and held-out next conversion) whose context is a query instead of a subject item.
 */
export interface SearchRequest {
  id: string;
  user: string;
  /** Query tokens; `search-lexicon.jsonl` maps each to categories. */
  query: string[];
  /** Unix seconds; later than every event of this user in events.jsonl. */
  time: number;
  /** The user's next offsite conversion: the recall target (held out). */
  next: { item: string; timestamp: number };
}

/** A query token and the categories it means, with confidences in (0, 1] (search-lexicon.jsonl). */
export interface QueryToken {
  token: string;
  categories: { id: string; confidence: number }[];
}

export interface SearchTruth {
  id: string;
  /** The Related-Items request this search shares its intent and next conversion with. */
  request: string;
  intent: string;
  /** True when the first token names the intent itself (else its family: a broad query). */
  specific: boolean;
}

export interface CategoryTruth {
  id: string;
  family: number;
}

export interface UserTruth {
  id: string;
  /** Long-term interest mixture over categories; weights sum to 1. */
  interests: { category: string; weight: number }[];
}

export interface RequestTruth {
  id: string;
  /** The category the user is currently after. */
  intent: string;
  /** True when the intent was drawn from the long-term interests (probability q). */
  intentFromLongTerm: boolean;
  /** True when the next conversion was drawn from the intent (probability r), false when from long-term interests. */
  nextFromIntent: boolean;
}

export interface WorldManifest {
  formatVersion: 1;
  preset: string;
  seed: number;
  /** Every generator parameter, resolved (defaults filled in). */
  params: Record<string, number | string | boolean>;
  counts: { users: number; items: number; categories: number; events: number; requests: number };
}

/**
 * A world held in memory (all but the events, which stream from events.jsonl). Arrays are in file
 * order; maps are keyed by id for the consumers' lookups.
 */
export interface World {
  dir: string;
  manifest: WorldManifest;
  items: WorldItem[];
  users: WorldUser[];
  requests: OnsiteRequest[];
  categories: Map<string, CategoryTruth>;
  userTruth: Map<string, UserTruth>;
  requestTruth: Map<string, RequestTruth>;
  /** Search requests (search.jsonl), when the world has the Search surface. */
  search?: SearchRequest[];
  /** The token → categories map (search-lexicon.jsonl), with `search`. */
  lexicon?: Map<string, QueryToken>;
  /** Search truth (truth/search.jsonl), with `search`. */
  searchTruth?: Map<string, SearchTruth>;
}

/** An offsite conversion as in events.jsonl (the data layer's canonical event; no context). */
export interface WorldEvent {
  user: string;
  item: string;
  /** Unix seconds. A user's events are consecutive in the file and in time order. */
  timestamp: number;
  type: "page_visit" | "add_to_cart" | "checkout" | "signup";
}
