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
}

/** An offsite conversion as in events.jsonl (the data layer's canonical event; no context). */
export interface WorldEvent {
  user: string;
  item: string;
  /** Unix seconds. A user's events are consecutive in the file and in time order. */
  timestamp: number;
  type: "page_visit" | "add_to_cart" | "checkout" | "signup";
}
