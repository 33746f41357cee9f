/**
 * The cluster-wide hot swap of `serve --workers N`, as the primary runs it over its replicas
 * (docs/scale.md, "Hot swap across replicas"):
 *
 * 1. prepare: every replica loads and cross-checks the new bundle while still serving the old one;
 * 2. commit, only when every replica loaded the same version: each swaps and confirms, and the
 *    swap resolves once all confirmed, so a request sent after it gets the new version anywhere;
 *    otherwise abort: each closes what it loaded and keeps serving, and the swap rejects with the
 *    first refusal (the error a single process would have answered).
 *
 * A replica that dies during the swap is left out (its replacement loads the source of the last
 * successful swap). The channel is given, so the ordering logic does not depend on `cluster`.
 */
import { performance } from "node:perf_hooks";
import { CtxrecError } from "../core/errors.ts";
import { SERVE_LIMITS } from "./limits.ts";
import { fromWire, type SourcePaths, type ToPrimary, type ToWorker, toWire } from "./replicaProtocol.ts";
import type { ReloadResult } from "./swap.ts";

/** A replica's answer to one of the primary's questions. */
export type Answer = Extract<ToPrimary, { id: number }>;

/** How the primary reaches a replica `R`. */
export interface ReplicaChannel<R> {
  /** Sends `m` and resolves with the replica's answer, undefined if it died first; rejects on timeout. */
  ask(r: R, m: Extract<ToWorker, { id: number }>, timeoutMs: number): Promise<Answer | undefined>;
  /** Sends `m` without waiting. */
  send(r: R, m: ToWorker): void;
}

/** What a swap reports. */
export interface SwapOutcome {
  /** Each replica's result, in the order of the replicas; undefined for one that died meanwhile. */
  results: (ReloadResult | undefined)[];
  /** Time to load everywhere, ms. */
  prepareMs: number;
  /**
   * From the first commit sent to the last confirmation, ms: an upper bound of the time in which
   * replicas may answer different versions.
   */
  commitMs: number;
}

/**
 * Swaps every replica of `replicas` to `source` in two phases; resolves once every live replica
 * confirmed, rejects when any refused.
 */
export async function swapAll<R>(
  replicas: readonly R[],
  source: SourcePaths,
  id: number,
  ch: ReplicaChannel<R>,
): Promise<SwapOutcome> {
  const timeout = SERVE_LIMITS.reloadTimeoutMs;
  const t0 = performance.now();
  const loads = await Promise.allSettled(
    replicas.map((r) => ch.ask(r, { type: "ctxrec:prepare", id, source }, timeout)),
  );
  const refused = refusal(loads);
  if (refused !== undefined) {
    for (const r of replicas) ch.send(r, { type: "ctxrec:abort", id });
    throw refused;
  }
  const t1 = performance.now();
  const commits = await Promise.all(
    replicas.map((r) => ch.ask(r, { type: "ctxrec:commit", id }, timeout).catch(() => undefined)),
  );
  return {
    results: commits.map((c) => (c?.type === "ctxrec:committed" ? c.result : undefined)),
    prepareMs: t1 - t0,
    commitMs: performance.now() - t1,
  };
}

/**
 * The error that stops a swap, from the replicas' answers to `prepare`: a replica that failed or
 * did not answer in time, or replicas that loaded different versions (files replaced during the
 * reload); undefined when every live replica loaded the same version.
 */
export function refusal(loads: readonly PromiseSettledResult<Answer | undefined>[]): CtxrecError | undefined {
  const versions = new Set<string>();
  for (const l of loads) {
    if (l.status === "rejected") return fromWire(toWire(l.reason)); // a timeout (CtxrecError) as it is
    if (l.value?.type !== "ctxrec:prepared") continue; // the replica died meanwhile
    if (l.value.error !== undefined) return fromWire(l.value.error);
    if (l.value.modelVersion !== undefined) versions.add(l.value.modelVersion);
  }
  if (versions.size > 1) {
    const shown = [...versions].map((v) => `${v.slice(0, 16)}…`).join(", ");
    return new CtxrecError(
      "CTXREC_ERR_ARTIFACT_VERSION",
      `the replicas loaded different model versions (${shown}): the files changed during the reload; reload again once they are in place`,
    );
  }
  return undefined;
}
