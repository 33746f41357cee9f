/**
 * The true utility of showing item i to the user of a request, the quantity the downstream ranker
 * estimates (with noise) and the oracle CG ranks by. Formulas in docs/funnel-simulator.md:
 *
 *   w̃_u(c)   = (1 − β) · w_u(c) + β · W_u(fam(c)) / |fam(c)|     family-smoothed interests
 *   aff(u,i) = Σ_c w̃_u(c) · conf_i(c) / Σ_c conf_i(c)  /  max_c w̃_u(c)        ∈ [0, 1]
 *   sim(i,s) = cosine(conf_i, conf_s)                                          ∈ [0, 1]
 *   appeal_i = ((n_i + 1) / (n̄ + 1))^γ       item appeal from its conversion count n_i (mean n̄)
 *   U        = (λ · sim(i,s) + (1 − λ) · aff(u,i)) · appeal_i                   ≥ 0
 *
 * Shapes: C categories; interest and subject vectors are dense `[C]` per request.
 */
import { requireArg } from "../core/errors.ts";
import type { UserTruth } from "../synth/types.ts";
import { type Catalog, itemVector, similarityToVector } from "./catalog.ts";
import type { SparseVec } from "./sparse.ts";

/** Parameters of the true utility. */
export interface UtilityArgs {
  /** λ: weight of the similarity to the subject item; 1 − λ weighs long-term affinity. Default 0.5. */
  contextWeight?: number;
  /** β: share of each interest weight spread evenly over its category family. Default 0.25. */
  familySmoothing?: number;
  /**
   * γ: exponent of the item-appeal factor (conversions relative to the mean item). The world's
   * conversions are popularity-weighted, so a ranker that predicts conversions favours popular
   * items; 0 switches the factor off. Default 0.5.
   */
  popularityExponent?: number;
}

export const DEFAULT_CONTEXT_WEIGHT = 0.5;
export const DEFAULT_FAMILY_SMOOTHING = 0.25;
export const DEFAULT_POPULARITY_EXPONENT = 0.5;

/**
 * Family smoothing of a dense interest vector `w` `[C]`: keeps (1 − β) of each weight and spreads
 * β of each family's total evenly over the family's categories, so a user who likes one category
 * also likes its relatives a little. Total weight is preserved.
 */
export function smoothInterests(
  w: Float64Array,
  family: Int32Array,
  familyMembers: Map<number, number[]>,
  beta: number,
): Float64Array {
  const out = new Float64Array(w.length);
  for (const members of familyMembers.values()) {
    let total = 0;
    for (const c of members) total += w[c];
    const share = (beta * total) / members.length;
    for (const c of members) out[c] = (1 - beta) * w[c] + share;
  }
  // Categories outside every family list (cannot happen for a compiled catalogue) keep their weight.
  for (let c = 0; c < w.length; c++) if (!familyMembers.has(family[c])) out[c] = w[c];
  return out;
}

/**
 * Long-term affinity of an item row `[start, end)` of (`ids`, `conf`) to smoothed interests `ws`
 * `[C]` whose largest entry is `maxW`: the confidence-weighted mean interest over the item's
 * categories, divided by `maxW` so that an item entirely in the user's favourite category scores 1.
 * 0 for an item without categories or a user without interests.
 */
export function affinity(
  ids: ArrayLike<number>,
  conf: ArrayLike<number>,
  start: number,
  end: number,
  ws: Float64Array,
  maxW: number,
): number {
  if (maxW <= 0) return 0;
  let s = 0;
  let total = 0;
  for (let p = start; p < end; p++) {
    s += conf[p] * ws[ids[p]];
    total += conf[p];
  }
  return total > 0 ? s / total / maxW : 0;
}

/** U = (λ · sim + (1 − λ) · aff) · appeal. */
export function utility(sim: number, aff: number, lambda: number, appeal = 1): number {
  return (lambda * sim + (1 - lambda) * aff) * appeal;
}

/**
 * Appeal of each item `[N]`: ((n_i + 1) / (n̄ + 1))^γ from conversion counts `counts` `[N]` (n̄ their
 * mean; the +1 keeps never-converted items above 0). All 1 when γ = 0.
 */
export function itemAppeal(counts: ArrayLike<number>, gamma: number): Float64Array {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  const mean = counts.length > 0 ? total / counts.length : 0;
  return Float64Array.from({ length: counts.length }, (_, i) => ((counts[i] + 1) / (mean + 1)) ** gamma);
}

/** The utility of every item for one request (its user and subject item). */
export interface RequestUtility {
  /** Similarity of item i to the subject item (the relevance measure, too). */
  sim(i: number): number;
  /** Long-term affinity of the request's user to item i. */
  aff(i: number): number;
  /** True utility U of item i (with its appeal). */
  of(i: number): number;
}

/**
 * The true utility over a catalogue, given the users' long-term interests from `truth/` and the
 * items' conversion counts (events.jsonl; absent ⇒ every item has appeal 1).
 */
export class UtilityModel {
  readonly lambda: number;
  readonly beta: number;
  readonly gamma: number;
  /** Appeal of each item `[N]`. */
  readonly appeal: Float64Array;

  constructor(
    private readonly cat: Catalog,
    private readonly userTruth: ReadonlyMap<string, UserTruth>,
    args: UtilityArgs = {},
    eventCounts?: ReadonlyMap<string, number>,
  ) {
    this.lambda = args.contextWeight ?? DEFAULT_CONTEXT_WEIGHT;
    this.beta = args.familySmoothing ?? DEFAULT_FAMILY_SMOOTHING;
    this.gamma = args.popularityExponent ?? DEFAULT_POPULARITY_EXPONENT;
    requireArg(
      this.lambda >= 0 && this.lambda <= 1,
      "contextWeight",
      `must be in [0, 1], got ${this.lambda}`,
    );
    requireArg(this.beta >= 0 && this.beta <= 1, "familySmoothing", `must be in [0, 1], got ${this.beta}`);
    requireArg(
      Number.isFinite(this.gamma) && this.gamma >= 0,
      "popularityExponent",
      `must be a finite number ≥ 0, got ${this.gamma}`,
    );
    this.appeal = eventCounts
      ? itemAppeal(
          cat.itemIds.map((id) => eventCounts.get(id) ?? 0),
          this.gamma,
        )
      : new Float64Array(cat.itemIds.length).fill(1);
  }

  /**
   * Smoothed interests of a user `[C]` and their maximum. Recomputed per request (O(C)) rather than
   * cached: a cache of dense `[U, C]` vectors would outgrow memory on the small world already.
   */
  interestsOf(user: string): { ws: Float64Array; maxW: number } {
    const w = new Float64Array(this.cat.categoryIds.length);
    // Interest categories that no item carries cannot match an item; they are left out.
    for (const { category, weight } of this.userTruth.get(user)?.interests ?? []) {
      const c = this.cat.categoryIndex.get(category);
      if (c !== undefined) w[c] += weight;
    }
    const ws = smoothInterests(w, this.cat.family, this.cat.familyMembers, this.beta);
    let maxW = 0;
    for (const x of ws) maxW = Math.max(maxW, x);
    return { ws, maxW };
  }

  /** The per-item utility functions of one request (`subject` is the subject item's index). */
  forRequest(user: string, subject: number): RequestUtility {
    return this.forContext(user, itemVector(this.cat, subject));
  }

  /**
   * The per-item utility functions of a request whose context is the category vector `context`
   * (a subject item's, or a Search query's): sim is the cosine to it.
   */
  forContext(user: string, context: SparseVec): RequestUtility {
    const cat = this.cat;
    const { ws, maxW } = this.interestsOf(user);
    const lambda = this.lambda;
    const appeal = this.appeal;
    const sim = similarityToVector(cat, context);
    const aff = (i: number) =>
      affinity(cat.catIds, cat.catConf, cat.catOffsets[i], cat.catOffsets[i + 1], ws, maxW);
    return { sim, aff, of: (i) => utility(sim(i), aff(i), lambda, appeal[i]) };
  }
}
