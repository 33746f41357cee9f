/**
 * The funnel simulator: for each onsite request, every CG returns its top K; the union goes to a
 * ranker that scores each candidate by a noisy estimate of its true utility, and an auction fills
 * S impression slots. Reports recall@K, candidate relevance and survival per CG (`CgMetrics`).
 * Deterministic for a seed: CG calls see requests in file order and all noise is keyed by ids.
 */
import { CtxrecError, requireArg } from "../core/errors.ts";
import type { WorldUser } from "../synth/types.ts";
import { type AuctionEntry, noisyEstimate, rankerNoise, runAuction } from "./auction.ts";
import {
  type CandidateGenerator,
  type FunnelRequest,
  type ScoredItem,
  toCandidateRequest,
} from "./candidateGenerator.ts";
import { type Catalog, isEligible } from "./catalog.ts";
import { CgAccumulator, type CgMetrics } from "./metrics.ts";
import { creditImpressions, exclusiveCounts, mergePools, targetHits } from "./pools.ts";
import { resolveContext } from "./requestContext.ts";
import type { UtilityModel } from "./utility.ts";

/** Parameters of a funnel run. */
export interface FunnelArgs {
  /** K: candidates asked of each CG per request. Default 100. */
  k?: number;
  /** S: impression slots filled per request. Default 10. */
  slots?: number;
  /** σ: standard deviation of the ranker's utility estimation error. Default 0.1. */
  noise?: number;
  /** Seeds the ranker noise. Default 1. */
  seed?: number;
  /** Requests per `retrieveMany` call. Default 256. */
  batchSize?: number;
  /** Called after each batch with requests done and total. */
  onProgress?: (done: number, total: number) => void;
}

export const FUNNEL_DEFAULTS = { k: 100, slots: 10, noise: 0.1, seed: 1, batchSize: 256 } as const;

export interface FunnelReport {
  k: number;
  slots: number;
  noise: number;
  seed: number;
  requests: number;
  /** Impressions filled in total (≤ S · requests). */
  impressions: number;
  /** The merged pool (`pools.ts`): its items summed over requests, and the share of requests it hits. */
  pool: { candidates: number; recallAtK: number };
  /** One entry per CG, in the order the CGs were given. */
  metrics: CgMetrics[];
}

/**
 * What the simulator needs of a world (a `World` has all of it). `requests` are Related-Items
 * requests (a `World`'s) or resolved Search requests (`searchFunnelRequests`), or a mix.
 */
export interface FunnelWorld {
  users: readonly WorldUser[];
  requests: readonly FunnelRequest[];
}

export async function simulateFunnel(
  world: FunnelWorld,
  cat: Catalog,
  utility: UtilityModel,
  cgs: readonly CandidateGenerator[],
  args: FunnelArgs = {},
): Promise<FunnelReport> {
  const { k, slots, noise, seed, batchSize } = { ...FUNNEL_DEFAULTS, ...stripUndefined(args) };
  requireArg(Number.isInteger(k) && k > 0, "k", `k must be a positive integer, got ${k}`);
  requireArg(Number.isInteger(slots) && slots > 0, "slots", `slots must be a positive integer, got ${slots}`);
  requireArg(
    Number.isFinite(noise) && noise >= 0,
    "noise",
    `noise must be a finite number ≥ 0, got ${noise}`,
  );
  requireArg(Number.isInteger(seed), "seed", `seed must be an integer, got ${seed}`);
  requireArg(
    Number.isInteger(batchSize) && batchSize > 0,
    "batchSize",
    `must be a positive integer, got ${batchSize}`,
  );
  requireArg(cgs.length > 0, "cgs", "give at least one candidate generator");
  requireArg(new Set(cgs.map((g) => g.name)).size === cgs.length, "cgs", "CG names must be distinct");

  const users = new Map(world.users.map((u) => [u.id, u]));
  const acc = cgs.map((g) => new CgAccumulator(g.name, k));
  let impressions = 0;
  let poolCandidates = 0;
  let poolHits = 0;
  const total = world.requests.length;
  for (let start = 0; start < total; start += batchSize) {
    const batch = world.requests.slice(start, start + batchSize);
    const cgRequests = batch.map((r) => toCandidateRequest(r, users.get(r.user)));
    const lists: ScoredItem[][][] = [];
    for (const g of cgs) lists.push(await g.retrieveMany(cgRequests, k));
    batch.forEach((request, b) => {
      const line = start + b + 1;
      if ("subjectItem" in request && !cat.itemIndex.has(request.subjectItem)) {
        throw new CtxrecError(
          "CTXREC_ERR_DATA_UNKNOWN_ID",
          `subject item '${request.subjectItem}' is not in items.jsonl; regenerate the world`,
          { file: "requests.jsonl", line, field: "subjectItem" },
        );
      }
      const context = resolveContext(cat, request, `search.jsonl:${line}`);
      const subject = context.subject;
      const perCg = cgs.map((g, gi) => candidateIndices(cat, g.name, lists[gi]?.[b], k, request.id));
      // The ranker sees the merged pool: the union of the CGs' candidates, each item once (pools.ts).
      const merged = mergePools(perCg);
      poolCandidates += merged.size;
      const u = utility.forContext(request.user, context.vec);
      const country = users.get(request.user)?.country;
      const entries: AuctionEntry[] = [];
      for (const i of merged.keys()) {
        const z = noise > 0 ? rankerNoise(seed, request.id, cat.itemIds[i]) : 0;
        entries.push({
          item: i,
          estimate: noisyEstimate(u.of(i), noise, z),
          bid: cat.bid[i],
          // The subject item itself is never shown as its own related item (Search has none).
          eligible: i !== subject && isEligible(cat, i, country),
        });
      }
      const winners = runAuction(entries, slots).map((pos) => entries[pos].item);
      impressions += winners.length;
      const credit = creditImpressions(winners, merged, cgs.length);
      const exclusive = exclusiveCounts(merged, cgs.length);
      const hits = targetHits(merged, cat.itemIndex.get(request.next.item), cgs.length);
      if (hits.pool) poolHits++;
      perCg.forEach((items, gi) => {
        acc[gi].add({
          hit: hits.own[gi] === 1,
          relevance: items.map((i) => u.sim(i)),
          delivered: credit.delivered[gi],
          credit: credit.shared[gi],
          exclusiveCandidates: exclusive[gi],
          exclusiveDelivered: credit.exclusive[gi],
          marginalHit: hits.marginal[gi] === 1,
        });
      });
    });
    args.onProgress?.(Math.min(start + batchSize, total), total);
  }
  return {
    k,
    slots,
    noise,
    seed,
    requests: total,
    impressions,
    pool: { candidates: poolCandidates, recallAtK: total > 0 ? poolHits / total : Number.NaN },
    metrics: acc.map((a) => a.finish(impressions)),
  };
}

/** A CG's answer for one request as catalogue indices; throws on a broken answer (a CG bug). */
function candidateIndices(
  cat: Catalog,
  cg: string,
  list: ScoredItem[] | undefined,
  k: number,
  requestId: string,
): number[] {
  const param = `CG ${cg}, request ${requestId}`;
  if (list === undefined) {
    throw new CtxrecError(
      "CTXREC_ERR_SHAPE",
      "retrieveMany returned no list for this request; return one list per request",
      {
        param,
      },
    );
  }
  if (list.length > k) {
    throw new CtxrecError("CTXREC_ERR_SHAPE", `returned ${list.length} candidates, more than k = ${k}`, {
      param,
    });
  }
  const out: number[] = [];
  const seen = new Set<number>();
  for (const { item } of list) {
    const i = cat.itemIndex.get(item);
    if (i === undefined) {
      throw new CtxrecError(
        "CTXREC_ERR_DATA_UNKNOWN_ID",
        `returned item '${item}', which is not in items.jsonl`,
        {
          param,
        },
      );
    }
    if (seen.has(i)) {
      throw new CtxrecError("CTXREC_ERR_ARG", `returned item '${item}' twice; return distinct items`, {
        param,
      });
    }
    seen.add(i);
    out.push(i);
  }
  return out;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
