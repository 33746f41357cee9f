/**
 * Per-CG funnel metrics and the attribution rule for impressions.
 *
 * Attribution: an impression whose item was retrieved by m CGs credits each of them 1/m, so the
 * impression shares of all CGs sum to 1. "Delivered" is counted without splitting: a CG's candidate
 * reaches an impression if its item is shown, whoever else also retrieved it.
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
  private readonly relevance: number[] = [];

  constructor(
    readonly name: string,
    readonly k: number,
  ) {}

  /**
   * Adds one request: whether the target was retrieved, the cosine of each candidate to the subject
   * `[≤K]`, how many candidates were shown, and the CG's fractional impression credit.
   */
  add(hit: boolean, relevance: readonly number[], delivered: number, credit: number): void {
    this.requests++;
    if (hit) this.hits++;
    this.candidates += relevance.length;
    for (const r of relevance) this.relevance.push(r);
    this.delivered += delivered;
    this.impressions += credit;
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
    };
  }
}
