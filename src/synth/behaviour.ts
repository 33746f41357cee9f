/**
 * What users do: offsite conversion sequences over days (sessions, topic persistence, drift,
 * repeats, exploration) and the onsite Related-Items request that follows a user's history
 * (current intent, subject item, held-out next conversion).
 */
import type { Rng } from "../core/rng.ts";
import { type Catalog, drawFromCategory, drawPopular } from "./catalog.ts";
import type { WorldParams } from "./params.ts";
import { aliasDraw, exponential } from "./sampling.ts";
import { drawInterest, drawNewInterest, drift, type SynthUser } from "./users.ts";

export const EVENT_TYPES = ["page_visit", "add_to_cart", "checkout", "signup"] as const;
const DAY = 86_400;

/** One user's events, time-ordered. Shapes [n]. */
export interface SynthSequence {
  items: Int32Array;
  times: Float64Array;
  /** Index into EVENT_TYPES. */
  types: Uint8Array;
}

/** Events per user: log-normal with mean eventsPerUser (before clipping to [minEvents, maxEvents]). */
export function drawLength(p: WorldParams, rng: Rng): number {
  const mu = Math.log(p.eventsPerUser) - (p.eventsSd * p.eventsSd) / 2;
  const n = Math.round(Math.exp(mu + p.eventsSd * rng.normal()));
  return Math.min(p.maxEvents, Math.max(p.minEvents, n));
}

/**
 * A category in the current family by mass: the move to a related topic. It may leave the
 * user's interests, which is how related categories come to co-occur in the logs.
 */
function moveWithinFamily(cat: Catalog, topic: number, rng: Rng): number {
  const f = cat.categoryFamily[topic];
  let total = 0;
  for (let c = cat.familyOffsets[f]; c < cat.familyOffsets[f + 1]; c++) total += cat.categoryMass[c];
  let x = rng.float() * total;
  for (let c = cat.familyOffsets[f]; c < cat.familyOffsets[f + 1]; c++) {
    x -= cat.categoryMass[c];
    if (x < 0) return c;
  }
  return cat.familyOffsets[f + 1] - 1;
}

/**
 * The conversion sequence of user `u` (mutates its interests through drift). Each step:
 * gap (same session with sessionContinueP, else a new session, where drift may strike);
 * topic (stay with topicStay, else move within the family with familyStay, else redraw from the
 * interests); item (repeat the previous one a funnel stage further with repeatRate, a popularity
 * draw with exploreRate, else an item of the topic eligible in the user's country).
 */
export function drawSequence(cat: Catalog, p: WorldParams, u: SynthUser, rng: Rng): SynthSequence {
  const n = drawLength(p, rng);
  const items = new Int32Array(n);
  const times = new Float64Array(n);
  const types = new Uint8Array(n);
  const typeWeights = [p.typePageVisit, p.typeAddToCart, p.typeCheckout, p.typeSignup];
  let t = p.startTime + Math.floor(rng.float() * p.startSpreadDays * DAY);
  let topic = drawInterest(u, rng);
  for (let k = 0; k < n; k++) {
    if (k > 0) {
      if (rng.bernoulli(p.sessionContinueP)) t += 1 + Math.floor(exponential(rng, p.sessionGapMinutes * 60));
      else {
        t += 1 + Math.floor(exponential(rng, p.sessionGapDays * DAY));
        if (rng.bernoulli(p.driftRate)) drift(cat, p, u, rng);
      }
      const x = rng.float();
      if (x >= p.topicStay) {
        topic =
          x < p.topicStay + (1 - p.topicStay) * p.familyStay
            ? moveWithinFamily(cat, topic, rng)
            : drawInterest(u, rng);
      }
    }
    times[k] = t;
    if (k > 0 && rng.bernoulli(p.repeatRate)) {
      items[k] = items[k - 1];
      // Funnel progression: a visit leads to a cart, anything else to a checkout.
      types[k] = types[k - 1] === 0 ? 1 : 2;
      continue;
    }
    items[k] = rng.bernoulli(p.exploreRate)
      ? drawPopular(cat, u.country, rng)
      : drawFromCategory(cat, topic, u.country, -1, rng);
    types[k] = rng.weighted(typeWeights);
  }
  return { items, times, types };
}

/** An onsite request as the generator holds it (indices, not ids). */
export interface SynthRequest {
  intent: number;
  intentFromLongTerm: boolean;
  subject: number;
  time: number;
  nextItem: number;
  nextTime: number;
  nextFromIntent: boolean;
}

/**
 * The Related-Items request after a user's last event at `lastTime`, or null when the user has
 * none (1 − requestRate). `rng` must be the user's own request stream: every candidate (both
 * intents, both next conversions) is always drawn, and q and r only choose among them, so
 * worlds that differ only in q or r share their random numbers (a sweep over r changes which
 * requests take the intent's item, nothing else).
 */
export function drawRequest(
  cat: Catalog,
  p: WorldParams,
  u: SynthUser,
  lastTime: number,
  rng: Rng,
): SynthRequest | null {
  if (!(rng.float() < p.requestRate)) return null;
  const uq = rng.float();
  const ur = rng.float();
  const longTerm = drawInterest(u, rng);
  const fresh = drawNewInterest(cat, p, u, rng);
  const intentFromLongTerm = uq < p.q;
  const intent = intentFromLongTerm ? longTerm : fresh;
  // The subject is organic content the user is viewing: any item of the intent, no eligibility.
  const subject = aliasDraw(cat.byCategory, intent, rng);
  // Related-Items never recommends the subject itself, so the next conversion is another item.
  const fromIntent = drawFromCategory(cat, intent, u.country, subject, rng);
  const fromLongTerm = drawFromCategory(cat, drawInterest(u, rng), u.country, subject, rng);
  const nextFromIntent = ur < p.r;
  const time = lastTime + 60 + Math.floor(exponential(rng, p.requestGapHours * 3600));
  const nextTime = time + 1 + Math.floor(exponential(rng, p.nextGapMinutes * 60));
  return {
    intent,
    intentFromLongTerm,
    subject,
    time,
    nextItem: nextFromIntent ? fromIntent : fromLongTerm,
    nextTime,
    nextFromIntent,
  };
}
