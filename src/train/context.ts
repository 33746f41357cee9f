/**
 * The context input of the model from items: the real context of a request (its subject item's
 * top-k categories) and, at training time, pseudo-context derived from the positive (DESIGN §3:
 * logs carry no context, so the positive's own categories stand in for a subject item), with
 * optional corruption so it resembles a RELATED subject item rather than the target itself.
 *
 * Glossary: P examples, k slots, C categories, N items.
 */
import { CtxrecError, requireArg } from "../core/errors.ts";
import type { Rng } from "../core/rng.ts";
import {
  type ContextBatch,
  emptyContextBatch,
  type ItemCategories,
  normaliseRow,
  writeTopK,
} from "./contextBatch.ts";
import { type RelatedCategories, relatedCategories } from "./contextRelated.ts";

export type { ContextBatch, ItemCategories } from "./contextBatch.ts";
export { emptyContextBatch } from "./contextBatch.ts";
export { type RelatedCategories, type RelatedSource, relatedCategories } from "./contextRelated.ts";

/** Throws CTXREC_ERR_ARG unless `item` is an item code of `ds` (0 = padding is allowed). */
function checkItem(ds: ItemCategories, item: number, p: number, param: string): void {
  const N = ds.catOffsets.length - 1;
  if (!(Number.isInteger(item) && item >= 0 && item < N)) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `item ${item} at position ${p} is not an item code in [0, ${N})`,
      {
        param,
      },
    );
  }
}

/**
 * Real context from subject items: each item's top-k categories by confidence (ties in file order),
 * weights normalised to sum 1. Also what evaluation uses with the item BEFORE the target (never the
 * target itself). An item with no categories (or padding, item 0) gives `present = 0` and an empty row.
 *
 * @param items [P] subject item codes
 * @param k slots per row (≥ 1)
 * @returns ContextBatch with catIds/weights [P, k] and present [P]
 */
export function contextFromItems(items: ArrayLike<number>, ds: ItemCategories, k: number): ContextBatch {
  requireArg(
    Number.isInteger(k) && k >= 1 && k <= MAX_K,
    "k",
    `expected an integer in [1, ${MAX_K}], got ${k}`,
  );
  const batch = emptyContextBatch(items.length, k);
  for (let p = 0; p < items.length; p++) {
    const item = items[p];
    checkItem(ds, item, p, "items");
    const filled = writeTopK(ds.catIds, ds.catConf, ds.catOffsets[item], ds.catOffsets[item + 1], batch, p);
    normaliseRow(batch, p, filled);
  }
  return batch;
}

/** Largest k accepted (a context of more categories than this is not a "top" list any more). */
export const MAX_K = 64;

/** Pseudo-context corruption, each field with its default and why. */
export interface PseudoContextArgs {
  /**
   * Slots per row. Default 4: the real context keeps a subject item's top interest categories;
   * 4 covers every category of 86% of Amazon Beauty items (median 4) and of 99% of MovieLens films.
   */
  k: number;
  /**
   * Probability of dropping each category of the positive, never all of them (if every draw drops,
   * one category chosen uniformly stays). Applied before the top-k cut, so a dropped category can
   * let a lower-ranked one in. Default 0.2: a related item shares most but not all categories
   * (a 4-category item loses 0.8 on average).
   */
  dropCategory: number;
  /**
   * σ of multiplicative log-normal noise on each confidence, conf · exp(σ·z), z ~ N(0, 1), before
   * the top-k cut and the normalisation. Default 0.2 (±20% at one σ): a related item weighs the
   * same interests a little differently; log-normal keeps confidences positive.
   */
  jitter: number;
  /**
   * Probability of replacing one category of the row (a uniformly chosen slot) by a related
   * category not already in the row (see `relatedCategories`); nothing happens if there is none.
   * Default 0.1: mostly the same interests, sometimes a neighbouring one.
   */
  swapRelated: number;
  /**
   * Share of examples trained with NO context (present = 0), so a request without a subject item
   * still gets a good embedding from the history alone (DESIGN §3). Default 0.2.
   */
  wholeContextDropout: number;
  /**
   * Related categories for `swapRelated`. Default: `relatedCategories(ds, 10)` from the catalogue
   * only (computed once per data set and kept with it); pass one learned with `trainEnd` to also
   * use users' transitions.
   */
  related?: RelatedCategories;
}

/** The documented defaults of `PseudoContextArgs`. */
export const PSEUDO_CONTEXT_DEFAULTS: Readonly<Omit<PseudoContextArgs, "related">> = Object.freeze({
  k: 4,
  dropCategory: 0.2,
  jitter: 0.2,
  swapRelated: 0.1,
  wholeContextDropout: 0.2,
});

/** No corruption and no dropout: pseudo-context equals `contextFromItems(positives)`. */
export const NO_CORRUPTION: Readonly<Omit<PseudoContextArgs, "related">> = Object.freeze({
  k: 4,
  dropCategory: 0,
  jitter: 0,
  swapRelated: 0,
  wholeContextDropout: 0,
});

/** Defaults + overrides, validated (CTXREC_ERR_ARG naming the field and the bad value). */
export function resolvePseudoContextArgs(over: Partial<PseudoContextArgs> = {}): PseudoContextArgs {
  const a: PseudoContextArgs = { ...PSEUDO_CONTEXT_DEFAULTS, ...over };
  requireArg(
    Number.isInteger(a.k) && a.k >= 1 && a.k <= MAX_K,
    "k",
    `expected an integer in [1, ${MAX_K}], got ${a.k}`,
  );
  for (const f of ["dropCategory", "swapRelated", "wholeContextDropout"] as const) {
    const v = a[f];
    requireArg(v >= 0 && v <= 1, f, `expected a probability in [0, 1], got ${v}`);
  }
  requireArg(
    a.jitter >= 0 && a.jitter <= 3,
    "jitter",
    `expected a log-normal σ in [0, 3] (0 = no jitter), got ${a.jitter}`,
  );
  return a;
}

/**
 * Catalogue-only related categories, computed once per data set: a pure function of immutable
 * arrays, cached weakly on the data set's catOffsets so it lives and dies with the data set.
 */
const catalogueRelated = new WeakMap<Int32Array, RelatedCategories>();
function defaultRelated(ds: ItemCategories): RelatedCategories {
  let r = catalogueRelated.get(ds.catOffsets);
  if (r === undefined) {
    r = relatedCategories(ds, DEFAULT_RELATED_TOP_N);
    catalogueRelated.set(ds.catOffsets, r);
  }
  return r;
}

/** Neighbours per category of the default (catalogue-only) related categories. */
export const DEFAULT_RELATED_TOP_N = 10;

/** Largest number of categories of any item in `items` (size of the scratch buffers). */
function maxCategoriesOf(items: ArrayLike<number>, ds: ItemCategories): number {
  let m = 0;
  for (let p = 0; p < items.length; p++) {
    checkItem(ds, items[p], p, "positives");
    const n = ds.catOffsets[items[p] + 1] - ds.catOffsets[items[p]];
    if (n > m) m = n;
  }
  return m;
}

/** True if category c is among the first `filled` slots of row o.. of catIds. */
function inRow(catIds: Int32Array, o: number, filled: number, c: number): boolean {
  for (let s = 0; s < filled; s++) if (catIds[o + s] === c) return true;
  return false;
}

/**
 * Training-time pseudo-context from the positives. Per example, in this order: whole-context
 * dropout → jitter confidences → drop categories (never all) → top-k → swap one slot for a related
 * category → normalise. Items without categories (and padding, 0) get `present = 0`.
 * Deterministic for a given `rng` state; with `NO_CORRUPTION` it equals `contextFromItems`.
 *
 * @param positives [P] positive item codes
 * @param args corruption (validated; missing fields take PSEUDO_CONTEXT_DEFAULTS)
 * @param rng consumed (forked by the caller if it must stay independent)
 * @returns ContextBatch with catIds/weights [P, k] and present [P]
 */
export function pseudoContext(
  positives: ArrayLike<number>,
  ds: ItemCategories,
  args: Partial<PseudoContextArgs>,
  rng: Rng,
): ContextBatch {
  const a = resolvePseudoContextArgs(args);
  const related = a.swapRelated > 0 ? (a.related ?? defaultRelated(ds)) : undefined;
  const batch = emptyContextBatch(positives.length, a.k);
  // Scratch for one item's (corrupted) categories: allocated once per call, not per example.
  const cap = maxCategoriesOf(positives, ds);
  const sid = new Int32Array(cap);
  const sconf = new Float64Array(cap);
  for (let p = 0; p < positives.length; p++) {
    const item = positives[p];
    const start = ds.catOffsets[item];
    let n = ds.catOffsets[item + 1] - start;
    if (n === 0) continue;
    if (a.wholeContextDropout > 0 && rng.float() < a.wholeContextDropout) continue;
    for (let j = 0; j < n; j++) {
      sid[j] = ds.catIds[start + j];
      sconf[j] =
        a.jitter > 0 ? ds.catConf[start + j] * Math.exp(a.jitter * rng.normal()) : ds.catConf[start + j];
    }
    if (a.dropCategory > 0 && n > 1) {
      let kept = 0;
      for (let j = 0; j < n; j++) {
        if (rng.float() >= a.dropCategory) {
          sid[kept] = sid[j];
          sconf[kept] = sconf[j];
          kept++;
        }
      }
      if (kept === 0) {
        // Nothing was overwritten (kept stayed 0), so the original entries are still in place.
        const j = rng.int(n);
        sid[0] = sid[j];
        sconf[0] = sconf[j];
        kept = 1;
      }
      n = kept;
    }
    const filled = writeTopK(sid, sconf, 0, n, batch, p);
    if (related !== undefined && rng.float() < a.swapRelated) swapOne(batch, p, filled, related, rng);
    normaliseRow(batch, p, filled);
  }
  return batch;
}

/** Replaces a uniformly chosen slot of row p by the first related category (from a random start) not in the row. */
function swapOne(batch: ContextBatch, p: number, filled: number, related: RelatedCategories, rng: Rng): void {
  const o = p * batch.k;
  const slot = rng.int(filled);
  const rel = related(batch.catIds[o + slot]);
  if (rel.length === 0) return;
  const first = rng.int(rel.length);
  for (let t = 0; t < rel.length; t++) {
    const c = rel[(first + t) % rel.length];
    if (!inRow(batch.catIds, o, filled, c)) {
      batch.catIds[o + slot] = c;
      return;
    }
  }
}
