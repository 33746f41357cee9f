/**
 * A `ctxrec stream` consumer: one member of a Redis Stream consumer group that turns new events
 * into fresh states (src/stream/refresh.ts), in micro-batches.
 *
 * Where entries come from, in this order of priority:
 *   - its own pending list (`XREADGROUP … 0`): at the start and after every failure, so a
 *     consumer restarted under the same name, or one whose batch failed half-way, first finishes
 *     what it had been given;
 *   - other consumers' entries idle longer than `claimIdleMs` (`XAUTOCLAIM`, every
 *     `claimIntervalMs`): a consumer that died before acknowledging loses nothing;
 *   - new entries (`XREADGROUP … >`): the first read blocks up to `idleBlockMs`; once one entry is
 *     in, the batch fills for at most `maxWaitMs` more or until `batchSize` entries.
 *
 * At-least-once: entries are acknowledged (`XACK`) only after their states are written, and every
 * step before is idempotent, so redelivery (after a crash, a claim, or a retry) changes nothing but
 * the time. Malformed entries are counted, logged with their entry id and field, and acknowledged.
 *
 * Faults: a failed Redis or store command (server down, connection lost, the group gone after a
 * restart without persistence) drops the batch unacknowledged, waits (`backoffMs`, doubling up to
 * `maxBackoffMs`, no jitter: the schedule is deterministic), recreates the group if needed and
 * resumes from the pending list. Nothing is written half: a batch's states are one atomic
 * `putMany`. Any other error (a model version no longer active, an encoder failure) stops the
 * consumer with that error; its entries stay pending for another consumer to claim.
 *
 * Stopping (`stop()`, SIGTERM in the CLI): no new batch is read; the batch in hand is finished,
 * written and acknowledged; then `run()` resolves with the stats.
 */
import type { Redis } from "ioredis";
import { CtxrecError } from "../core/errors.ts";
import type { FeatureStore } from "../store/featureStore.ts";
import {
  describeMalformed,
  type EntryRules,
  isMalformed,
  type MalformedEntry,
  parseEntry,
  type StreamEvent,
} from "./entry.ts";
import { type RefreshDeps, type RefreshReport, refreshUsers } from "./refresh.ts";
import { addRefresh, createStreamStats, type StreamStats } from "./stats.ts";

/** Settings of a consumer; all but the first three have defaults. */
export interface StreamConsumerArgs {
  /** The stream's key. */
  stream: string;
  /** The consumer group (created at `start` when absent). */
  group: string;
  /** This consumer's name in the group; reuse it across restarts to resume its pending list. */
  consumer: string;
  /** Most entries per micro-batch. Default 256. */
  batchSize?: number;
  /** Milliseconds a micro-batch may wait for more entries after its first. Default 50. */
  maxWaitMs?: number;
  /** Milliseconds a read blocks while the stream is idle (bounds how late a stop is noticed). Default 500. */
  idleBlockMs?: number;
  /** Entries pending this long (ms) at another consumer are taken over. Default 30000. */
  claimIdleMs?: number;
  /** Milliseconds between two looks for such entries. Default 5000. */
  claimIntervalMs?: number;
  /** Where a newly created group starts: `$` (only new entries, the default) or `0` (the whole stream). */
  start?: "$" | "0";
  /** First back-off after a failure (ms). Default 100. */
  backoffMs?: number;
  /** Longest back-off (ms). Default 5000. */
  maxBackoffMs?: number;
  /** Called with one line per malformed entry, failure and retry. */
  log?: (line: string) => void;
}

/** What a consumer needs besides its Redis connection. */
export interface StreamConsumerDeps extends RefreshDeps {
  rules: EntryRules;
}

/** One raw entry: id and flat fields (null when it was deleted while pending). */
export type RawEntry = [string, string[] | null];

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Server replies that pass: a restart (the group gone, data loading), a fail-over, a busy script. */
const TRANSIENT_REPLY = /^(NOGROUP|LOADING|BUSY|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|MOVED|ASK)\b/;
/** ioredis' messages for a connection that is down or lost. */
const CONNECTION_LOST =
  /Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|Stream isn't writeable/;

/**
 * Whether `err` is worth a retry: the store unreachable (CTXREC_ERR_STORE), a lost connection to
 * Redis, or a reply that passes (NOGROUP after a restart without persistence, LOADING, …). Other
 * replies (WRONGTYPE: a key used for something else), other ctxrec errors and programming errors
 * would fail again.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof CtxrecError) return err.code === "CTXREC_ERR_STORE" || err.code === "CTXREC_ERR_TIMEOUT";
  if (!(err instanceof Error)) return false;
  if (err.name === "ReplyError") return TRANSIENT_REPLY.test(err.message);
  return err.name === "MaxRetriesPerRequestError" || CONNECTION_LOST.test(err.message);
}

/** The back-off before retry `attempt` (0-based): `first · 2^attempt`, at most `max`. */
export function backoffDelay(attempt: number, first: number, max: number): number {
  return Math.min(max, first * 2 ** Math.min(attempt, 30));
}

/**
 * A failure that a retry cannot fix, naming the batch's entries (they stay pending for another
 * consumer to claim) and keeping the cause's code; retryable failures pass through.
 */
export function batchFailure(err: unknown, batch: readonly RawEntry[]): unknown {
  if (isRetryable(err) || batch.length === 0) return err;
  const ids = batch.map(([id]) => id);
  const what =
    ids.length === 1 ? `entry ${ids[0]}` : `entries ${ids[0]} … ${ids[ids.length - 1]} (${ids.length})`;
  return new CtxrecError(
    err instanceof CtxrecError ? err.code : "CTXREC_ERR_INTERNAL",
    `the micro-batch of ${what} failed and stays pending for another consumer: ${err instanceof Error ? err.message : String(err)}`,
    {},
    { cause: err },
  );
}

/** The entries of an `XREADGROUP` reply for one stream. */
function entriesOf(reply: unknown): RawEntry[] {
  if (reply === null) return [];
  const streams = reply as [string, RawEntry[]][];
  return streams[0]?.[1] ?? [];
}

export class StreamConsumer {
  readonly stats: StreamStats = createStreamStats();
  private readonly a: Required<Omit<StreamConsumerArgs, "log">> & Pick<StreamConsumerArgs, "log">;
  private stopping = false;
  private claimCursor = "0-0";
  private lastClaimMs = 0;
  private readonly startedMs = Date.now();

  constructor(
    private readonly redis: Redis,
    private readonly deps: StreamConsumerDeps,
    args: StreamConsumerArgs,
  ) {
    this.a = {
      batchSize: 256,
      maxWaitMs: 50,
      idleBlockMs: 500,
      claimIdleMs: 30_000,
      claimIntervalMs: 5_000,
      start: "$",
      backoffMs: 100,
      maxBackoffMs: 5_000,
      ...args,
    };
  }

  /** Seconds since the consumer was created. */
  get uptimeSeconds(): number {
    return (Date.now() - this.startedMs) / 1000;
  }

  /** Asks `run()` to finish the batch in hand and return. */
  stop(): void {
    this.stopping = true;
  }

  /** Creates the group (with the stream) unless it exists. */
  async ensureGroup(): Promise<void> {
    try {
      await this.redis.xgroup("CREATE", this.a.stream, this.a.group, this.a.start, "MKSTREAM");
    } catch (err) {
      if (!(err instanceof Error && err.message.startsWith("BUSYGROUP"))) throw err;
    }
  }

  /** Consumes until `stop()`; resolves with the stats, rejects on a fault that a retry cannot fix. */
  async run(): Promise<StreamStats> {
    let failures = 0;
    let ownPending = true;
    let needGroup = true;
    while (!this.stopping) {
      try {
        if (needGroup) {
          await this.ensureGroup();
          needGroup = false;
        }
        let batch: RawEntry[];
        if (ownPending) {
          batch = await this.readOwnPending();
          if (batch.length === 0) ownPending = false;
        } else if (Date.now() - this.lastClaimMs >= this.a.claimIntervalMs) {
          batch = await this.claimIdle();
        } else {
          batch = await this.readNew();
        }
        if (batch.length > 0)
          await this.process(batch).catch((err) => Promise.reject(batchFailure(err, batch)));
        failures = 0;
      } catch (err) {
        if (!isRetryable(err)) throw err;
        const wait = backoffDelay(failures++, this.a.backoffMs, this.a.maxBackoffMs);
        this.stats.retries++;
        this.a.log?.(
          `batch failed (${(err as Error).message}); retrying from the pending list in ${wait} ms`,
        );
        await sleep(wait);
        ownPending = true;
        needGroup = true;
      }
    }
    return this.stats;
  }

  /** Up to `batchSize` of this consumer's own pending entries, oldest first. */
  private async readOwnPending(): Promise<RawEntry[]> {
    const { group, consumer, stream, batchSize } = this.a;
    const reply = await this.redis.xreadgroup(
      "GROUP",
      group,
      consumer,
      "COUNT",
      batchSize,
      "STREAMS",
      stream,
      "0",
    );
    return entriesOf(reply);
  }

  /** Entries idle at other consumers for `claimIdleMs`, taken over (one XAUTOCLAIM page). */
  private async claimIdle(): Promise<RawEntry[]> {
    const { group, consumer, stream, batchSize, claimIdleMs } = this.a;
    const reply = (await this.redis.xautoclaim(
      stream,
      group,
      consumer,
      claimIdleMs,
      this.claimCursor,
      "COUNT",
      batchSize,
    )) as [string, RawEntry[], string[]?];
    this.claimCursor = reply[0];
    // A full page may have more behind it: look again at once; otherwise after the interval.
    this.lastClaimMs = reply[0] !== "0-0" ? 0 : Date.now();
    const deleted = reply[2] ?? [];
    if (deleted.length > 0) {
      // XAUTOCLAIM already dropped them from the pending list; there is nothing left to read.
      this.a.log?.(
        `${deleted.length} pending entries were deleted from the stream before anyone read them (${deleted.slice(0, 3).join(", ")}…)`,
      );
    }
    this.stats.claimed += reply[1].length;
    return reply[1];
  }

  /** New entries: blocks for the first, then fills the batch for at most `maxWaitMs`. */
  private async readNew(): Promise<RawEntry[]> {
    const { group, consumer, stream, batchSize, maxWaitMs, idleBlockMs } = this.a;
    const read = async (count: number, blockMs: number) =>
      entriesOf(
        await this.redis.xreadgroup(
          "GROUP",
          group,
          consumer,
          "COUNT",
          count,
          "BLOCK",
          Math.max(1, Math.round(blockMs)),
          "STREAMS",
          stream,
          ">",
        ),
      );
    const batch = await read(batchSize, idleBlockMs);
    if (batch.length === 0) return batch;
    const deadline = performance.now() + maxWaitMs;
    while (batch.length < batchSize && !this.stopping) {
      const left = deadline - performance.now();
      if (left < 1) break;
      const more = await read(batchSize - batch.length, left);
      if (more.length === 0) break;
      batch.push(...more);
    }
    return batch;
  }

  /** Parses, refreshes and acknowledges one micro-batch. */
  private async process(batch: RawEntry[]): Promise<void> {
    const nowSeconds = Date.now() / 1000;
    const events: StreamEvent[] = [];
    const malformed: MalformedEntry[] = [];
    for (const [id, fields] of batch) {
      const e = parseEntry(id, fields, this.deps.rules, nowSeconds);
      if (isMalformed(e)) malformed.push(e);
      else events.push(e);
    }
    let r: RefreshReport | undefined;
    if (events.length > 0) {
      await requireActiveVersion(this.deps.store);
      r = await refreshUsers(events, this.deps);
    }
    await this.redis.xack(this.a.stream, this.a.group, ...batch.map(([id]) => id));
    // Counted once acknowledged, so that a batch that failed and was retried counts once.
    const s = this.stats;
    s.entries += batch.length;
    s.batches++;
    for (const m of malformed) {
      this.a.log?.(`malformed ${describeMalformed(m)}; acknowledged and skipped`);
      s.malformed++;
      s.malformedByField[m.field] = (s.malformedByField[m.field] ?? 0) + 1;
    }
    if (r !== undefined) {
      addRefresh(s, r);
      for (const e of events) s.lag.add((r as RefreshReport).writtenAtMs - e.enqueuedMs);
    }
  }
}

/**
 * Throws CTXREC_ERR_ARTIFACT_VERSION unless the store's active version is the consumer's: states
 * written under an inactive version would never be served (a newer model was activated since the
 * consumer started; restart it with that model). Checked at the start and before every batch.
 */
export async function requireActiveVersion(store: FeatureStore): Promise<void> {
  const active = await store.activeVersion();
  if (active !== store.modelVersion) {
    throw new CtxrecError(
      "CTXREC_ERR_ARTIFACT_VERSION",
      `the store's active version is ${active ?? "none"}, this consumer's model is ${store.modelVersion}; stream with the active model (or make this one active with a full \`ctxrec encode\`)`,
      { param: "--model" },
    );
  }
}
