/**
 * Per-CG funnel metrics and the attribution rule for impressions.
 *
 * Attribution: an impression whose item was retrieved by m CGs credits each of them 1/m, so the
 * impression shares of all CGs sum to 1. "Delivered" is counted without splitting: a CG's candidate
 * reaches an impression if its item is shown, whoever else also retrieved it. The exclusive counts
 * and the marginal recall follow the pool rules of `pools.ts`.
 */
import { median } from "./stats.ts";

/** What the simulator reports for one CG. */
export interface CgMetrics {
  name: string;
  /** Candidates asked of the CG per request. */
  k: number;
  requests: number;
  /** Share of requests whose held-out next conversion is among the CG's candidates. */
  recallAtK: number;
  /** Median cosine (candidate, subject item) over all the CG's candidates of all requests. */
  relevanceMedian: number;
  relevanceMean: number;
  /** Share of all impressions attributed to the CG (fractional attribution; sums to 1 over CGs). */
  impressionShare: number;
  /** Share of the CG's candidates that reached an impression. */
  deliveredShare: number;
  /** Candidates returned in total (≤ k · requests). */
  candidates: number;
  /** Candidates that reached an impression. */
  delivered: number;
  /** Impressions attributed (fractional). */
  impressions: number;
  /** Candidates that no other CG returned for the same request (`pools.ts`). */
  exclusiveCandidates: number;
  /** Impressions whose item no other CG returned. */
  exclusiveDelivered: number;
  /** recall(all pools) − recall(all pools but this CG): share of requests whose target only it retrieved. */
  marginalRecallAtK: number;
}

/** What one request adds to a CG's sums. */
export interface RequestOutcome {
  /** The held-out target is among the CG's candidates. */
  hit: boolean;
  /** Cosine of each candidate to the request's context `[≤K]`. */
  relevance: readonly number[];
  /** Candidates of the CG that were shown. */
  delivered: number;
  /** The CG's fractional impression credit. */
  credit: number;
  /** Candidates no other CG returned. */
  exclusiveCandidates: number;
  /** Shown candidates no other CG returned. */
  exclusiveDelivered: number;
  /** The target was retrieved by this CG alone. */
  marginalHit: boolean;
}

/**
 * Fractional credit per CG `[G]` for a request's winners: `retrievers[w]` lists the CGs (indices in
 * `[0, G)`) that retrieved winner w; each gets 1 / retrievers[w].length of that impression.
 */
export function attributeImpressions(
  retrievers: readonly (readonly number[])[],
  cgCount: number,
): Float64Array {
  const credit = new Float64Array(cgCount);
  for (const r of retrievers) for (const g of r) credit[g] += 1 / r.length;
  return credit;
}

/** Running sums of one CG's metrics over requests. */
export class CgAccumulator {
  requests = 0;
  hits = 0;
  candidates = 0;
  delivered = 0;
  impressions = 0;
  exclusiveCandidates = 0;
  exclusiveDelivered = 0;
  marginalHits = 0;
  private readonly relevance: number[] = [];

  constructor(
    readonly name: string,
    readonly k: number,
  ) {}

  /** Adds one request's outcome for this CG. */
  add(o: RequestOutcome): void {
    this.requests++;
    if (o.hit) this.hits++;
    this.candidates += o.relevance.length;
    for (const r of o.relevance) this.relevance.push(r);
    this.delivered += o.delivered;
    this.impressions += o.credit;
    this.exclusiveCandidates += o.exclusiveCandidates;
    this.exclusiveDelivered += o.exclusiveDelivered;
    if (o.marginalHit) this.marginalHits++;
  }

  /** The CG's metrics, given the total number of impressions of the run. */
  finish(totalImpressions: number): CgMetrics {
    let sum = 0;
    for (const r of this.relevance) sum += r;
    return {
      name: this.name,
      k: this.k,
      requests: this.requests,
      recallAtK: this.requests > 0 ? this.hits / this.requests : Number.NaN,
      relevanceMedian: median(this.relevance),
      relevanceMean: this.candidates > 0 ? sum / this.candidates : Number.NaN,
      impressionShare: totalImpressions > 0 ? this.impressions / totalImpressions : Number.NaN,
      deliveredShare: this.candidates > 0 ? this.delivered / this.candidates : Number.NaN,
      candidates: this.candidates,
      delivered: this.delivered,
      impressions: this.impressions,
      exclusiveCandidates: this.exclusiveCandidates,
      exclusiveDelivered: this.exclusiveDelivered,
      marginalRecallAtK: this.requests > 0 ? this.marginalHits / this.requests : Number.NaN,
    };
  }
}
