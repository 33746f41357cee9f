/**
 * The IPC messages between the primary of `ctxrec serve --workers N` (replicaPrimary.ts) and its
 * serving replicas (replicaWorker.ts), over the channel Node's `cluster` module opens with each
 * worker. Every message is a plain JSON object with a `type` starting `ctxrec:` (prom-client and
 * Node's own cluster messages share the channel and are ignored by type), and every question carries
 * an `id` its answer repeats.
 *
 *   primary → worker   start {port, source}      load this source and listen on this port
 *                      prepare {id, source}      load the bundle of `source`, do not swap yet
 *                      commit {id} / abort {id}  swap to the prepared bundle / close it
 *                      answer {id, …}            the answer to one of the worker's questions
 *   worker → primary   hello                     listening on the channel: send `start`
 *                      ready {address, modelVersion}  failed {error}  (listening / could not start)
 *                      prepared {id, modelVersion | error}   committed {id, result}
 *                      reload {id, body}         POST /admin/reload reached this worker
 *                      metrics {id}              GET /metrics reached this worker
 *                      scrape-reply {id, metrics}  this worker's registry (prom-client JSON)
 *   primary → worker   scrape {id}               send me your registry
 */
import type { Registry } from "prom-client";
import {
  CtxrecError,
  ERROR_CODES,
  type ErrorCode,
  type ErrorLocation,
  formatLocation,
} from "../core/errors.ts";
import type { BundleSource } from "./bundle.ts";
import type { ReloadResult } from "./swap.ts";

/** The part of a bundle source that travels (paths only; item countries stay in each worker). */
export type SourcePaths = Partial<Pick<BundleSource, "modelDir" | "indexPath" | "storeUrl">>;

/** One replica's metrics as `Registry.getMetricsAsJSON` gives them (what `AggregatorRegistry.aggregate` sums). */
export type RegistryJson = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;

/** An error as it crosses the channel (a CtxrecError keeps its code, reason and location). */
export interface WireError {
  code: ErrorCode;
  reason: string;
  location: ErrorLocation;
}

export type ToWorker =
  | { type: "ctxrec:start"; port: number; source: SourcePaths }
  | { type: "ctxrec:prepare"; id: number; source: SourcePaths }
  | { type: "ctxrec:commit"; id: number }
  | { type: "ctxrec:abort"; id: number }
  | { type: "ctxrec:scrape"; id: number }
  | { type: "ctxrec:answer"; id: number; result?: unknown; error?: WireError };

export type ToPrimary =
  | { type: "ctxrec:hello" }
  | { type: "ctxrec:ready"; address: string; modelVersion: string }
  | { type: "ctxrec:failed"; error: WireError }
  | { type: "ctxrec:prepared"; id: number; modelVersion?: string; error?: WireError }
  | { type: "ctxrec:committed"; id: number; result: ReloadResult }
  | { type: "ctxrec:reload"; id: number; body: SourcePaths }
  | { type: "ctxrec:metrics"; id: number }
  | { type: "ctxrec:scrape-reply"; id: number; metrics: RegistryJson };

/** Whether `m` is one of ours (the channel also carries Node's and prom-client's messages). */
export function isCtxrecMessage(m: unknown): m is { type: string } {
  return typeof m === "object" && m !== null && String((m as { type?: unknown }).type).startsWith("ctxrec:");
}

/** `err` for the channel: a CtxrecError as it is, anything else as CTXREC_ERR_INTERNAL. */
export function toWire(err: unknown): WireError {
  if (err instanceof CtxrecError) {
    const where = formatLocation(err.location);
    const reason =
      where !== "" && err.message.startsWith(`${where}: `)
        ? err.message.slice(where.length + 2)
        : err.message;
    return { code: err.code, reason, location: err.location };
  }
  return {
    code: "CTXREC_ERR_INTERNAL",
    reason: err instanceof Error ? err.message : String(err),
    location: {},
  };
}

/** The CtxrecError a `WireError` came from (same code, message and location, so the same HTTP answer). */
export function fromWire(w: WireError): CtxrecError {
  const code: ErrorCode = w.code in ERROR_CODES ? w.code : "CTXREC_ERR_INTERNAL";
  return new CtxrecError(code, w.reason, w.location);
}

/** Only the paths of `body` (a reload body or a bundle source), without keys that are absent. */
export function sourcePaths(body: Partial<BundleSource>): SourcePaths {
  const out: SourcePaths = {};
  if (body.modelDir !== undefined) out.modelDir = body.modelDir;
  if (body.indexPath !== undefined) out.indexPath = body.indexPath;
  if (body.storeUrl !== undefined) out.storeUrl = body.storeUrl;
  return out;
}
