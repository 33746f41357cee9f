/**
 * What a `ctxrec stream` consumer counts, its freshness lag, and the progress line it prints.
 *
 * Freshness lag of an event: from the moment Redis took its stream entry (the entry id's
 * milliseconds, Redis' clock) to the moment the store acknowledged the write of the state that
 * includes it (the consumer's clock): how long the event took to become servable. Both clocks are
 * one machine's in a single-host set-up; across hosts the figure carries their clock offset.
 */
import { quantile } from "../pipeline/ablationStats.ts";
import { REFRESH_COUNTS, type RefreshCounts, type RefreshReport } from "./refresh.ts";

/** The newest lags (ms), a fixed-size ring: bounded memory however long the consumer runs. */
export class LagWindow {
  private readonly ring: Float64Array;
  private next = 0;
  /** Lags recorded since the start (not only those in the window). */
  count = 0;

  /** @param capacity lags kept (default 65536). */
  constructor(capacity = 65_536) {
    this.ring = new Float64Array(capacity);
  }

  /** How many lags the window keeps. */
  get capacity(): number {
    return this.ring.length;
  }

  add(ms: number): void {
    this.ring[this.next] = ms;
    this.next = (this.next + 1) % this.ring.length;
    this.count++;
  }

  /** The lags in the window, oldest order not kept. */
  values(): Float64Array {
    return this.ring.slice(0, Math.min(this.count, this.ring.length));
  }

  /** The q-quantile (ms) of the lags in the window; NaN before the first. */
  quantile(q: number): number {
    return quantile(this.values(), q);
  }
}

/** A consumer's counters since it started (the refresh counters summed over its batches). */
export interface StreamStats extends RefreshCounts {
  /** Entries processed and acknowledged (new, own pending and claimed from other consumers). */
  entries: number;
  /** Entries refused as malformed (acknowledged), and per field at fault. */
  malformed: number;
  malformedByField: Record<string, number>;
  /** Entries taken over from consumers idle longer than the claim threshold (XAUTOCLAIM). */
  claimed: number;
  /** Micro-batches completed. */
  batches: number;
  /** Failed attempts at a micro-batch (Redis or the store down), each followed by a back-off. */
  retries: number;
  /** Freshness lags of the valid events (ms). */
  lag: LagWindow;
}

export function createStreamStats(): StreamStats {
  return {
    entries: 0,
    malformed: 0,
    malformedByField: {},
    claimed: 0,
    batches: 0,
    retries: 0,
    ...(Object.fromEntries(REFRESH_COUNTS.map((k) => [k, 0])) as RefreshCounts),
    lag: new LagWindow(),
  };
}

/** Adds a refresh's counts to `s`. */
export function addRefresh(s: StreamStats, r: RefreshReport): void {
  for (const k of REFRESH_COUNTS) s[k] += r[k];
}

const n = (x: number) => x.toLocaleString("en-US");
const sec = (ms: number) => (Number.isNaN(ms) ? "-" : `${(ms / 1000).toFixed(3)} s`);

/**
 * One progress line, e.g. `12,000 entries (1,000/s), 9,800 users encoded, lag p50 0.084 s p99
 * 0.210 s, 3 malformed, 0 claimed, 0 retries`; rates over `seconds` since the start.
 */
export function statsLine(s: StreamStats, seconds: number): string {
  const rate = Math.round(s.entries / Math.max(1e-3, seconds));
  return (
    `${n(s.entries)} entries (${n(rate)}/s), ${n(s.newEvents)} new events, ${n(s.encoded)} users encoded, ` +
    `lag p50 ${sec(s.lag.quantile(0.5))} p99 ${sec(s.lag.quantile(0.99))}, ${n(s.malformed)} malformed, ` +
    `${n(s.duplicates)} duplicates, ${n(s.claimed)} claimed, ${n(s.retries)} retries`
  );
}

/** Order statistics at rank ≈ k / 1000, k = 0..1000, of `ms`, in seconds (4 decimals); [] when empty. */
export function permille(ms: Float64Array): number[] {
  const sorted = Float64Array.from(ms).sort();
  if (sorted.length === 0) return [];
  const at = (k: number) => sorted[Math.round((k / 1000) * (sorted.length - 1))];
  return Array.from({ length: 1001 }, (_, k) => Number((at(k) / 1000).toFixed(4)));
}

/** The stats as JSON (`--stats-json`): the counters, and the lag quantiles in seconds. */
export function statsJson(s: StreamStats, seconds: number) {
  const { lag, ...counters } = s;
  const q = (p: number) => Number((lag.quantile(p) / 1000).toFixed(4));
  return {
    ...counters,
    seconds: Number(seconds.toFixed(3)),
    lag: {
      /** Lags recorded since the start; the quantiles are over the newest `window` of them. */
      count: lag.count,
      window: Math.min(lag.count, lag.capacity),
      p50Seconds: q(0.5),
      p90Seconds: q(0.9),
      p99Seconds: q(0.99),
      maxSeconds: q(1),
      /**
       * The window's quantiles at 0, 0.001, …, 1 (1001 values, seconds): enough to pool the lags
       * of several consumers (each value weighs window / 1001) without shipping every lag.
       */
      permilleSeconds: permille(lag.values()),
    },
  };
}
