/**
 * The compiled data set: what the trainer, evaluation and encoders consume. Everything is int codes
 * and typed arrays (no per-event objects), so 20M events fit in a few hundred MB and reload from the
 * binary artifact (`artifact.ts`) without parsing.
 *
 * Glossary: U = `userVocab.size` (users + 1 padding row, code 0), N = `itemVocab.size` (items + 1
 * padding row), E = number of events kept, Cn = number of (item, category) pairs, Kn = number of
 * (item, eligible country) pairs. Arrays indexed by user or item code have a (zero/empty) row 0.
 */
import type { DemographicField } from "./schema.ts";
import type { Vocab } from "./vocab.ts";

/** Counts of everything the readers dropped, skipped or noticed. Nothing is dropped silently. */
export interface DataReport {
  /** Rows skipped as invalid (only non-zero with skipInvalid; otherwise the first one throws). */
  invalidRows: number;
  /** The first few invalid-row messages (`file:line: field: reason`), at most `MAX_REASONS`. */
  invalidReasons: string[];
  /** Events skipped because their item is not in the catalogue (subset of invalidRows). */
  unknownItemEvents: number;
  /** Exact duplicate events (same user, item, timestamp and type) dropped after the first copy. */
  duplicateEvents: number;
  /** Users with exactly one event (kept; leave-one-out puts them in train only). */
  singleEventUsers: number;
  /** Users known from the users file that have no event (kept: demographics for cold start). */
  usersWithoutEvents: number;
  /** Users with events but no row in the users file (kept with missing demographics); 0 when there is no users file. */
  usersWithoutProfile: number;
  /** Catalogue items that no event refers to (kept: they can still be indexed and served). */
  itemsWithoutEvents: number;
  /** Items with zero categories (kept: they train and serve through their id). */
  itemsWithoutCategories: number;
  /** S3-Rec: attribute ids listed twice for one item, merged into one category (Beauty has 5). */
  duplicateAttributes: number;
}

/** At most this many invalid-row reasons are kept in a DataReport. */
export const MAX_REASONS = 5;

export function emptyReport(): DataReport {
  return {
    invalidRows: 0,
    invalidReasons: [],
    unknownItemEvents: 0,
    duplicateEvents: 0,
    singleEventUsers: 0,
    usersWithoutEvents: 0,
    usersWithoutProfile: 0,
    itemsWithoutEvents: 0,
    itemsWithoutCategories: 0,
    duplicateAttributes: 0,
  };
}

/** One demographic field: its vocabulary (0 pad, 1 missing) and one code per user. */
export interface DemographicColumn {
  vocab: Vocab;
  /** [U] code per user code; row 0 (padding) is 0. */
  codes: Int32Array;
}

export interface CompiledDataset {
  /** Where the data came from: reader format and path (for messages and manifests). */
  source: { format: string; path: string; attributes?: string };

  /** User ids; code 0 = padding. Size U. */
  userVocab: Vocab;
  /** Item ids; code 0 = padding. Size N. */
  itemVocab: Vocab;
  /** Interest category ids; code 0 = padding (never used by an item). */
  categoryVocab: Vocab;
  /** Event types; 0 = padding, 1 = event without a type. */
  typeVocab: Vocab;

  /** [U + 1] CSR offsets: the events of user u are positions offsets[u] .. offsets[u+1]-1. offsets[0] = offsets[1] = 0. */
  offsets: Int32Array;
  /** [E] item code of each event, per user in time order (ties keep file order). */
  items: Int32Array;
  /** [E] Unix seconds of each event (S3-Rec: synthetic positions, see docs/data-formats.md). */
  timestamps: Float64Array;
  /** [E] event-type code of each event (1 = no type). */
  types: Int32Array;

  /** [N + 1] CSR offsets into catIds/catConf: categories of item i are catOffsets[i] .. catOffsets[i+1]-1. */
  catOffsets: Int32Array;
  /** [Cn] category code of each (item, category) pair, in the item's file order. */
  catIds: Int32Array;
  /** [Cn] confidence in (0, 1] of each (item, category) pair. */
  catConf: Float32Array;

  /** Advertisers; 0 = padding, 1 = item without advertiser. */
  advertiserVocab: Vocab;
  /** [N] advertiser code per item. */
  itemAdvertiser: Int32Array;
  /** [N] bid per item; NaN where the item has no bid. */
  itemBid: Float32Array;
  /** [N + 1] CSR offsets into itemCountries; an item with no countries is eligible everywhere. */
  itemCountryOffsets: Int32Array;
  /** [Kn] country codes (in `demographics.country.vocab`, shared with users' country). */
  itemCountries: Int32Array;

  /**
   * Per-user demographic codes. `age` codes are buckets (<18, 18-24, 25-34, 35-44, 45-49, 50-55,
   * 56+, the MovieLens-1M buckets); the raw age is in `userAge`.
   */
  demographics: Record<DemographicField, DemographicColumn>;
  /** [U] age in years per user; NaN where missing. */
  userAge: Float32Array;

  /** What was skipped, dropped or noticed while reading. */
  report: DataReport;
}

/** Number of real users (padding excluded). */
export function numUsers(ds: CompiledDataset): number {
  return ds.userVocab.size - 1;
}

/** Number of real items (padding excluded). */
export function numItems(ds: CompiledDataset): number {
  return ds.itemVocab.size - 1;
}

/** Number of events kept. */
export function numEvents(ds: CompiledDataset): number {
  return ds.items.length;
}

/** Age buckets (MovieLens-1M convention) used for the `age` demographic code. */
export const AGE_BUCKETS = ["<18", "18-24", "25-34", "35-44", "45-49", "50-55", "56+"] as const;

/** Bucket label of an age in years. */
export function ageBucket(age: number): string {
  if (age < 18) return AGE_BUCKETS[0];
  if (age < 25) return AGE_BUCKETS[1];
  if (age < 35) return AGE_BUCKETS[2];
  if (age < 45) return AGE_BUCKETS[3];
  if (age < 50) return AGE_BUCKETS[4];
  if (age < 56) return AGE_BUCKETS[5];
  return AGE_BUCKETS[6];
}
