/**
 * The downstream ranker and auction of the funnel (formulas in docs/funnel-simulator.md):
 *
 *   Û(i)    = U(i) · exp(σ · z(i)),  z ~ N(0, 1) per (seed, request, item)   noisy utility estimate
 *   score_i = Û(i) · bid_i                                              auction score
 *   winners = the S highest positive scores among eligible candidates   (ties: lower item index)
 */
import { requireArg } from "../core/errors.ts";
import { deriveSeed, Rng } from "../core/rng.ts";

/** One candidate in the auction of a request. */
export interface AuctionEntry {
  /** Catalogue index of the item (breaks score ties, so the result never depends on input order). */
  item: number;
  /** The ranker's noisy utility estimate Û. */
  estimate: number;
  bid: number;
  /** False for the subject item and items not eligible in the user's country. */
  eligible: boolean;
}

/**
 * Fills `slots` impression slots: positions in `entries` of the winners, best first `[≤S]`. Only
 * eligible entries with a positive score Û · bid can win (a zero or negative expected value is not
 * worth an impression), so fewer than S slots may be filled.
 */
export function runAuction(entries: readonly AuctionEntry[], slots: number): number[] {
  requireArg(Number.isInteger(slots) && slots >= 0, "slots", `slots must be an integer ≥ 0, got ${slots}`);
  const pool: { pos: number; score: number; item: number }[] = [];
  entries.forEach((e, pos) => {
    const score = e.estimate * e.bid;
    if (e.eligible && score > 0) pool.push({ pos, score, item: e.item });
  });
  pool.sort((a, b) => b.score - a.score || a.item - b.item);
  return pool.slice(0, slots).map((p) => p.pos);
}

/**
 * The ranker's estimation error for one item in one request: a standard normal that depends only on
 * (seed, request id, item id), so an item gets the same estimate whichever CGs retrieved it.
 */
export function rankerNoise(seed: number, requestId: string, itemId: string): number {
  return new Rng(deriveSeed(deriveSeed(seed, `ranker-noise/${requestId}`), itemId)).normal();
}

/**
 * Û = U · exp(σ · z): a log-normal relative error, so σ means the same on every utility scale and an
 * item worth nothing (U = 0) stays worth nothing.
 */
export function noisyEstimate(trueUtility: number, sigma: number, z: number): number {
  return trueUtility * Math.exp(sigma * z);
}
