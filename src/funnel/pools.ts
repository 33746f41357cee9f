/**
 * Competing candidate pools: how the funnel merges the pools of G CGs for one request before
 * ranking, and how it credits each CG for what it contributed (docs/funnel-simulator.md, "The
 * funnel with competing pools"). Pure functions on catalogue indices; the simulator sums them over
 * requests (`metrics.ts`).
 *
 * - **Merge**: the ranker sees the union of the pools with duplicates removed, so an item that two
 *   CGs return is ranked (and can be shown) once. Each item of the union keeps its *retrievers*: the
 *   CGs that returned it. Nothing is truncated: every item of the union enters the auction.
 * - **Credit**: an item is credited to every CG that returned it (its candidates, its delivered
 *   impressions); it is *exclusive* to a CG when that CG is its only retriever. An impression also
 *   gives a *shared* credit of 1/m to each of its m retrievers, so shared credits sum to the
 *   impressions over all CGs (the competitors' shares of delivered impressions sum to 1).
 * - **Marginal recall** of CG c: recall(all pools) − recall(all pools but c). Per request the
 *   difference is 1 exactly when the target is in c's pool and in no other pool (an exclusive hit),
 *   so it is the share of requests whose target only c retrieved; it never exceeds c's own recall.
 *
 * Shapes: G CGs; a request's pools `[G][≤K]` (distinct item indices per CG, best first).
 */
import { attributeImpressions } from "./metrics.ts";

/** One request's pools: `pools[g]` are the item indices CG g returned `[G][≤K]`. */
export type Pools = readonly (readonly number[])[];

/**
 * The merged pool: item index → its retrievers (CG indices, increasing). Iteration order is first
 * appearance (CG 0's list first, then what CG 1 adds, …), which the auction does not depend on.
 */
export function mergePools(pools: Pools): Map<number, number[]> {
  const merged = new Map<number, number[]>();
  pools.forEach((items, g) => {
    for (const i of items) {
      const r = merged.get(i);
      if (r === undefined) merged.set(i, [g]);
      else if (r[r.length - 1] !== g) r.push(g);
    }
  });
  return merged;
}

/** Per CG `[G]`: items of the merged pool that CG g alone returned. */
export function exclusiveCounts(merged: ReadonlyMap<number, readonly number[]>, cgCount: number): Int32Array {
  const out = new Int32Array(cgCount);
  for (const r of merged.values()) if (r.length === 1) out[r[0]]++;
  return out;
}

/** What one request's impressions credit to each CG. */
export interface ImpressionCredit {
  /** `[G]` impressions whose item CG g returned (full credit to every retriever). */
  delivered: Int32Array;
  /** `[G]` impressions whose item CG g alone returned. */
  exclusive: Int32Array;
  /** `[G]` shared credit: 1/m of each impression to each of its m retrievers (sums to the impressions). */
  shared: Float64Array;
}

/**
 * Credit of a request's winners: `winners` are the shown items' indices, `merged` the request's
 * merged pool (every winner is in it, since only pooled items enter the auction).
 */
export function creditImpressions(
  winners: readonly number[],
  merged: ReadonlyMap<number, readonly number[]>,
  cgCount: number,
): ImpressionCredit {
  const retrievers = winners.map((w) => merged.get(w) ?? []);
  const delivered = new Int32Array(cgCount);
  const exclusive = new Int32Array(cgCount);
  for (const r of retrievers) {
    for (const g of r) delivered[g]++;
    if (r.length === 1) exclusive[r[0]]++;
  }
  return { delivered, exclusive, shared: attributeImpressions(retrievers, cgCount) };
}

/** Whether a request's target was retrieved: by the merged pool, and by each CG alone. */
export interface TargetHits {
  /** The target is in the merged pool (the union of all pools). */
  pool: boolean;
  /** `[G]` 1 where CG g's pool holds the target. */
  own: Uint8Array;
  /** `[G]` 1 where CG g is the target's only retriever: recall(all) − recall(all but g) for this request. */
  marginal: Uint8Array;
}

/** The hits of `target` (an item index, or undefined for a target the catalogue lacks: no hit). */
export function targetHits(
  merged: ReadonlyMap<number, readonly number[]>,
  target: number | undefined,
  cgCount: number,
): TargetHits {
  const own = new Uint8Array(cgCount);
  const marginal = new Uint8Array(cgCount);
  const r = target === undefined ? undefined : merged.get(target);
  if (r !== undefined) {
    for (const g of r) own[g] = 1;
    if (r.length === 1) marginal[r[0]] = 1;
  }
  return { pool: r !== undefined, own, marginal };
}
