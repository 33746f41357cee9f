/**
 * One serving replica of `ctxrec serve --workers N`: a cluster worker running the ordinary server
 * (server.ts) over its own bundle, tied to the primary (replicaPrimary.ts) over the IPC channel.
 *
 * - Hot swap: `POST /admin/reload` on whichever replica gets it is handed to the primary, which
 *   swaps EVERY replica in two phases: each one loads the new bundle (`prepare`) while still
 *   serving the old; only when all have loaded does each swap (`commit`), otherwise all discard
 *   what they loaded (`abort`) and keep serving. A replica never swaps on its own, so replicas
 *   serve different versions only between the commits (one IPC round, milliseconds), and a
 *   request still answers wholly from the one bundle it started on (BundleHandle).
 * - Metrics: `GET /metrics` on any replica answers the aggregate of all replicas (the primary
 *   collects each one's registry), since a scraper behind one port reaches a random replica.
 * - Every answer carries `x-ctxrec-worker: PID`, so a client (and the tests) can tell replicas apart.
 */
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import type { ServeBundle } from "./bundle.ts";
import type { ServeMetrics } from "./metrics.ts";
import {
  fromWire,
  isCtxrecMessage,
  type SourcePaths,
  sourcePaths,
  type ToPrimary,
  type ToWorker,
  toWire,
} from "./replicaProtocol.ts";
import type { MetricsText, ServerOptions } from "./server.ts";
import type { BundleHandle, ReloadResult } from "./swap.ts";

/** The header naming the replica (its pid) on every answer. */
export const WORKER_HEADER = "x-ctxrec-worker";

function send(m: ToPrimary): void {
  // A closed channel means the primary is gone; Node then exits this worker itself.
  if (process.connected) process.send?.(m);
}

/** Resolves with the primary's first `start` message: the port to listen on and the current source. */
export function waitForStart(): Promise<{ port: number; source: SourcePaths }> {
  return new Promise((resolve) => {
    const onMessage = (m: unknown) => {
      if (!isCtxrecMessage(m) || m.type !== "ctxrec:start") return;
      process.off("message", onMessage);
      const start = m as Extract<ToWorker, { type: "ctxrec:start" }>;
      resolve({ port: start.port, source: start.source });
    };
    process.on("message", onMessage);
    send({ type: "ctxrec:hello" });
  });
}

/** Tells the primary this replica could not start (its error then reaches the command line there). */
export function reportStartFailure(err: unknown): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || process.send === undefined) return resolve();
    process.send({ type: "ctxrec:failed", error: toWire(err) } satisfies ToPrimary, () => resolve());
  });
}

/** This replica's end of the channel: answers the primary's swap and scrape requests, forwards its own. */
export class ReplicaLink {
  private nextId = 0;
  private readonly pending = new Map<number, (a: Extract<ToWorker, { type: "ctxrec:answer" }>) => void>();
  private readonly prepared = new Map<number, ServeBundle>();
  private log: FastifyBaseLogger | undefined;

  constructor(
    private readonly bundles: BundleHandle,
    private readonly metrics: ServeMetrics,
  ) {
    process.on("message", (m: unknown) => {
      if (isCtxrecMessage(m)) void this.onMessage(m as ToWorker);
    });
  }

  /** The server options that route reloads and scrapes through the primary. */
  serverOptions(): Pick<ServerOptions, "metrics" | "scrape" | "reload"> {
    return {
      metrics: this.metrics,
      scrape: () => this.ask<MetricsText>({ type: "ctxrec:metrics", id: this.nextId++ }),
      reload: (body) =>
        this.ask<ReloadResult>({ type: "ctxrec:reload", id: this.nextId++, body: sourcePaths(body) }),
    };
  }

  /** Adds the replica header to `app`'s answers and logs swaps through its logger (before listen). */
  attach(app: FastifyInstance): void {
    this.log = app.log;
    const pid = String(process.pid);
    app.addHook("onRequest", (_req, reply, done) => {
      reply.header(WORKER_HEADER, pid);
      done();
    });
  }

  /** Tells the primary this replica is listening. */
  ready(address: string): void {
    send({ type: "ctxrec:ready", address, modelVersion: this.bundles.current.modelVersion });
  }

  private ask<T>(m: Extract<ToPrimary, { type: "ctxrec:reload" | "ctxrec:metrics" }>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.set(m.id, (a) =>
        a.error !== undefined ? reject(fromWire(a.error)) : resolve(a.result as T),
      );
      send(m);
    });
  }

  private async onMessage(m: ToWorker): Promise<void> {
    switch (m.type) {
      case "ctxrec:answer":
        this.pending.get(m.id)?.(m);
        this.pending.delete(m.id);
        return;
      case "ctxrec:prepare":
        return this.prepare(m.id, m.source);
      case "ctxrec:commit":
        return this.commit(m.id);
      case "ctxrec:abort":
        return this.abort(m.id);
      case "ctxrec:scrape":
        send({
          type: "ctxrec:scrape-reply",
          id: m.id,
          metrics: await this.metrics.registry.getMetricsAsJSON(),
        });
        return;
      default:
        return; // `start` is taken by waitForStart
    }
  }

  private async prepare(id: number, source: SourcePaths): Promise<void> {
    try {
      const next = await this.bundles.prepare(source);
      this.prepared.set(id, next);
      send({ type: "ctxrec:prepared", id, modelVersion: next.modelVersion });
    } catch (err) {
      this.metrics.reload("refused");
      this.log?.error({ err }, "reload refused on this replica; every replica keeps its bundle");
      send({ type: "ctxrec:prepared", id, error: toWire(err) });
    }
  }

  private commit(id: number): void {
    const next = this.prepared.get(id);
    if (next === undefined) return;
    this.prepared.delete(id);
    const result = this.bundles.install(next, this.log);
    this.metrics.reload("ok");
    this.metrics.setModel(result.modelVersion);
    send({ type: "ctxrec:committed", id, result });
  }

  private async abort(id: number): Promise<void> {
    const next = this.prepared.get(id);
    if (next === undefined) return;
    this.prepared.delete(id);
    this.metrics.reload("refused");
    this.log?.warn(
      { modelVersion: next.modelVersion },
      "another replica refused the reload; discarding the loaded bundle",
    );
    await this.bundles.discard(next);
  }
}
