/**
 * The primary of `ctxrec serve --workers N`: Node's `cluster` module forks N serving replicas
 * (replicaWorker.ts) that share one listening port (the primary accepts and hands connections out
 * round-robin, Node's default on Linux). The primary serves nothing itself and loads no bundle; it
 *
 * - starts the replicas and reports `listening` once all of them listen (one failing to start
 *   stops all, with that replica's error);
 * - replaces a replica that dies, after a backoff that doubles with each death of a replica that
 *   had not lived `STABLE_MS` (so a replica that cannot start does not spin);
 * - swaps every replica on a reload (SIGHUP, or `POST /admin/reload` on any replica) in two
 *   phases: all load, then all swap, or all keep their bundle (replicaSwap.ts);
 * - remembers the source of the last swap, so a replacement serves the version the others do;
 * - aggregates the replicas' metrics for `GET /metrics` (replicaMetrics.ts);
 * - stops all replicas gracefully on SIGTERM/SIGINT (each finishes its requests).
 *
 * Why the swap goes over IPC rather than Redis pub/sub: the replicas of one host already share a
 * channel with their primary, and it works for every store (the embedded SQLite one included);
 * pub/sub would need Redis even for `file:` stores and still need someone to order the two phases.
 * Replicas on several hosts are not this module's (docs/scale.md, "Serving replicas").
 *
 * Operations that change which replicas exist or what they serve (a start, a replacement, a swap)
 * run one at a time, in order (`serial`): a replacement started during a swap would otherwise load
 * the old source and miss the swap.
 */
import cluster, { type Worker } from "node:cluster";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import pino, { type Logger } from "pino";
import { CtxrecError } from "../core/errors.ts";
import { SERVE_LIMITS } from "./limits.ts";
import { ReplicaMetrics } from "./replicaMetrics.ts";
import {
  fromWire,
  isCtxrecMessage,
  type SourcePaths,
  type ToPrimary,
  type ToWorker,
  toWire,
  type WireError,
} from "./replicaProtocol.ts";
import { type Answer, swapAll } from "./replicaSwap.ts";
import type { MetricsText } from "./server.ts";
import type { ReloadResult } from "./swap.ts";

/** What `ctxrec serve --workers` hands the primary. */
export interface PrimaryArgs {
  /** Replicas to keep running (≥ 2; `--workers 1` runs today's single process, no primary). */
  workers: number;
  /** The `--port` asked for; 0 = a free port, chosen by the primary before the first start and kept for replacements. */
  port: number;
  /** The `--host` the replicas listen on. */
  host: string;
  /** pino level of the primary's own log lines. */
  logLevel: string;
}

/** A replica that lived this long before dying is restarted without backoff. */
export const STABLE_MS = 10_000;
/** Longest wait before restarting a replica. */
export const MAX_BACKOFF_MS = 30_000;
/** Time a replica gets to answer a scrape, ms. */
const SCRAPE_TIMEOUT_MS = 2_000;
/** Time the replicas get to finish their requests on SIGTERM before they are killed, ms. */
const STOP_TIMEOUT_MS = 10_000;

/** Wait before the `failures`-th consecutive restart of a replica: 100 ms, 200, 400 … capped at MAX_BACKOFF_MS. */
export function restartDelayMs(failures: number): number {
  return Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.max(0, failures - 1));
}

/**
 * A port free on `host` now (the OS picks it for a socket that is closed again): the one port of
 * every replica for `--port 0`. Another process could take it before the replicas bind it; they
 * then fail to start with EADDRINUSE, as a single process asked for a taken port does.
 */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** One of the N places a replica runs in; it keeps its backoff across the replicas that fill it. */
interface Slot {
  index: number;
  worker?: Worker;
  startedAt: number;
  /** Consecutive deaths of replicas that lived less than STABLE_MS. */
  failures: number;
  ready: boolean;
}

export class ReplicaPrimary {
  private readonly log: Logger;
  private readonly slots: Slot[];
  private readonly metrics: ReplicaMetrics;
  private chain: Promise<unknown> = Promise.resolve();
  private nextId = 0;
  /** Answers awaited from replicas, by `workerId:messageId`; resolved with undefined when the replica dies. */
  private readonly waiting = new Map<string, (a: Answer | undefined) => void>();
  /** The start waiters, by worker id: resolved by `ready`, `failed` or the replica's exit. */
  private readonly starting = new Map<number, (r: { address?: string; error?: WireError }) => void>();
  /** The source paths of the last swap (over the command line's), for replacements. */
  private source: SourcePaths = {};
  private port: number;
  private readonly host: string;
  private started = false;
  private stopping = false;

  constructor(args: PrimaryArgs) {
    this.port = args.port;
    this.host = args.host;
    this.log = pino({ level: args.logLevel, base: { pid: process.pid, role: "primary" } });
    this.slots = Array.from({ length: args.workers }, (_, index) => ({
      index,
      startedAt: 0,
      failures: 0,
      ready: false,
    }));
    const slots = this.slots;
    this.metrics = new ReplicaMetrics(() => slots.filter((s) => s.ready).length);
    cluster.on("message", (w, m: unknown) => {
      if (isCtxrecMessage(m)) this.onMessage(w, m as ToPrimary);
    });
    cluster.on("exit", (w, code, signal) => this.onExit(w, code, signal));
  }

  /**
   * Starts every replica; resolves with the address once all listen (undefined when `stop` came
   * first, e.g. a Ctrl-C during start-up), rejects with the first one's start error.
   */
  start(): Promise<string | undefined> {
    return this.serial(async () => {
      // Every replica must listen with the same arguments to share the primary's one socket: a
      // replica on port 0 and one on the port it got would each ask for their own socket.
      if (this.port === 0) this.port = await freePort(this.host);
      const all = await Promise.all(this.slots.map((s) => this.spawn(s)));
      const first = all[0];
      const failed = all.find((r) => r.address === undefined);
      if (this.stopping) return undefined;
      if (failed !== undefined) {
        await this.stop();
        throw failed.error !== undefined
          ? fromWire(failed.error)
          : new CtxrecError(
              "CTXREC_ERR_INTERNAL",
              "a serving replica exited before listening; see its log above",
            );
      }
      this.started = true;
      return first.address;
    });
  }

  /** Swaps every replica to `body` over the current source (two phases); resolves with each replica's result by pid. */
  reload(body: SourcePaths): Promise<Map<number, ReloadResult>> {
    return this.serial(() => this.reloadAll(body));
  }

  /** The SIGHUP reload: swaps every replica to the current source, logging the outcome (never throws). */
  async reloadOnSignal(): Promise<void> {
    try {
      const results = await this.reload({});
      this.log.info({ replicas: results.size }, "SIGHUP reload done");
    } catch (err) {
      this.log.error({ err }, "SIGHUP reload refused; every replica keeps its bundle");
    }
  }

  /** Stops every replica (SIGTERM: each closes its server after its requests), killing stragglers after 10 s. */
  async stop(): Promise<void> {
    this.stopping = true;
    // A replica that already exited stays in `cluster.workers` until its channel closes: skip it.
    const live = Object.values(cluster.workers ?? {}).filter(
      (w): w is Worker => w !== undefined && !w.isDead(),
    );
    const exits = live.map((w) => new Promise((resolve) => w.once("exit", resolve)));
    for (const w of live) w.process.kill("SIGTERM");
    const timer = setTimeout(() => {
      for (const w of live) if (w.process.exitCode === null) w.process.kill("SIGKILL");
    }, STOP_TIMEOUT_MS);
    await Promise.all(exits);
    clearTimeout(timer);
  }

  /** The replicas' metrics summed, plus the primary's own (replicaMetrics.ts). */
  async scrape(): Promise<MetricsText> {
    const workers = this.readyWorkers();
    const id = this.nextId++;
    const replies = await Promise.all(
      workers.map((w) =>
        this.ask(w, { type: "ctxrec:scrape", id }, SCRAPE_TIMEOUT_MS).catch(() => undefined),
      ),
    );
    const perWorker = replies
      .filter(
        (r): r is Extract<ToPrimary, { type: "ctxrec:scrape-reply" }> => r?.type === "ctxrec:scrape-reply",
      )
      .map((r) => r.metrics);
    return this.metrics.exposition(perWorker);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private readyWorkers(): Worker[] {
    return this.slots.flatMap((s) => (s.ready && s.worker !== undefined ? [s.worker] : []));
  }

  /** Forks a replica into `slot`; resolves when it listens or has failed to. */
  private spawn(slot: Slot): Promise<{ address?: string; error?: WireError }> {
    const worker = cluster.fork();
    slot.worker = worker;
    slot.startedAt = Date.now();
    slot.ready = false;
    // A replica stuck loading would hold up every later swap (they wait their turn): give it the
    // reload's time limit, then kill it (its exit then counts as a failed start).
    const limit = setTimeout(() => worker.process.kill("SIGKILL"), SERVE_LIMITS.reloadTimeoutMs);
    return new Promise((resolve) => {
      this.starting.set(worker.id, (r) => {
        clearTimeout(limit);
        this.starting.delete(worker.id);
        if (r.address !== undefined) {
          slot.ready = true;
          this.log.info(
            { worker: worker.process.pid, slot: slot.index, address: r.address },
            "replica listening",
          );
        } else if (r.error !== undefined && this.started) {
          // At the first start the error reaches the command line; a replacement's only the log.
          this.log.error(
            { worker: worker.process.pid, slot: slot.index, error: r.error },
            "replica failed to start",
          );
        }
        resolve(r);
      });
    });
  }

  private async reloadAll(body: SourcePaths): Promise<Map<number, ReloadResult>> {
    const source = { ...this.source, ...body };
    const workers = this.readyWorkers();
    if (workers.length === 0) {
      throw new CtxrecError(
        "CTXREC_ERR_STORE",
        "no serving replica is running; retry once one has restarted",
      );
    }
    const channel = { ask: this.ask.bind(this), send: this.sendTo.bind(this) };
    const swap = await swapAll(workers, source, this.nextId++, channel);
    this.source = source;
    const results = new Map<number, ReloadResult>();
    swap.results.forEach((r, i) => {
      const pid = workers[i].process.pid;
      if (r !== undefined && pid !== undefined) results.set(pid, r);
    });
    const versions = [...new Set([...results.values()].map((r) => r.modelVersion))];
    this.log.info(
      {
        source,
        replicas: results.size,
        modelVersion: versions,
        prepareMs: Math.round(swap.prepareMs),
        commitMs: Math.round(swap.commitMs * 10) / 10,
      },
      "every replica swapped",
    );
    return results;
  }

  /** Sends `m` to `w` and resolves with its answer (undefined if it dies first); rejects after `timeoutMs`. */
  private ask(
    w: Worker,
    m: Extract<ToWorker, { id: number }>,
    timeoutMs: number,
  ): Promise<Answer | undefined> {
    const key = `${w.id}:${m.id}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(key);
        reject(
          new CtxrecError(
            "CTXREC_ERR_TIMEOUT",
            `replica ${w.process.pid} did not answer ${m.type} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.waiting.set(key, (a) => {
        clearTimeout(timer);
        this.waiting.delete(key);
        resolve(a);
      });
      this.sendTo(w, m);
    });
  }

  private sendTo(w: Worker, m: ToWorker): void {
    if (w.isConnected()) w.send(m);
  }

  private onMessage(w: Worker, m: ToPrimary): void {
    switch (m.type) {
      case "ctxrec:hello":
        this.sendTo(w, { type: "ctxrec:start", port: this.port, source: this.source });
        return;
      case "ctxrec:ready":
        this.starting.get(w.id)?.({ address: m.address });
        return;
      case "ctxrec:failed":
        this.starting.get(w.id)?.({ error: m.error });
        return;
      case "ctxrec:reload":
        void this.answer(w, m.id, async () => {
          const results = await this.reload(m.body);
          return results.get(w.process.pid ?? -1) ?? [...results.values()][0];
        });
        return;
      case "ctxrec:metrics":
        void this.answer(w, m.id, () => this.scrape());
        return;
      default:
        this.waiting.get(`${w.id}:${m.id}`)?.(m);
    }
  }

  /** Runs `fn` for a replica's question and sends it the result or the error. */
  private async answer(w: Worker, id: number, fn: () => Promise<unknown>): Promise<void> {
    try {
      this.sendTo(w, { type: "ctxrec:answer", id, result: await fn() });
    } catch (err) {
      this.sendTo(w, { type: "ctxrec:answer", id, error: toWire(err) });
    }
  }

  private onExit(w: Worker, code: number | null, signal: string | null): void {
    for (const [key, resolve] of this.waiting) if (key.startsWith(`${w.id}:`)) resolve(undefined);
    this.starting.get(w.id)?.({});
    const slot = this.slots.find((s) => s.worker === w);
    if (slot === undefined) return;
    slot.ready = false;
    slot.worker = undefined;
    if (this.stopping || !this.started) return;
    const lived = Date.now() - slot.startedAt;
    slot.failures = lived >= STABLE_MS ? 1 : slot.failures + 1;
    const delay = restartDelayMs(slot.failures);
    this.log.warn(
      { worker: w.process.pid, slot: slot.index, code, signal, restartInMs: delay },
      "replica died; restarting it",
    );
    this.metrics.restarted();
    void sleep(delay).then(() => {
      if (!this.stopping) return this.serial(() => this.spawn(slot));
    });
  }
}
