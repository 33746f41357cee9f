/**
 * One micro-batch of `ctxrec stream`: the valid events of a batch of stream entries → the event
 * logs → the touched users' new states in the feature store. The caller acknowledges the entries
 * only after `refreshUsers` returned, so a crash anywhere in it leaves them pending for a retry.
 *
 * Order, and why each step may be repeated safely (at-least-once delivery):
 *   1. seed the logs of users seen for the first time from the data (idempotent appends);
 *   2. append the events to the users' logs (idempotent: duplicates are skipped);
 *   3. read every touched user's log with its revision, encode the last L events (the offline
 *      batch's encoder and layout), and write all states with ONE atomic `putMany`;
 *   4. read the revisions again: a user whose log changed since step 3 (another consumer appended
 *      an event meanwhile, and its state may have landed BEFORE ours, which would leave our older
 *      state last) is encoded and written again. So whichever write is last, it was checked
 *      against the log after it landed and the stored state reflects every appended event.
 * Every touched user is encoded even when none of its events was new: a redelivered entry may be
 * one whose append survived a crash that lost the write.
 * Shapes: B touched users, d state width.
 */
import { CtxrecError } from "../core/errors.ts";
import type { StateEncoder } from "../offline/encodeUsers.ts";
import type { FeatureStore, StateEntry } from "../store/featureStore.ts";
import type { StreamEvent } from "./entry.ts";
import { type ArrivingEvent, arrivalOf, type EventLog } from "./eventLog.ts";
import { type CodeMaps, logBatch } from "./history.ts";
import type { Seeder } from "./seed.ts";

/** What a refresh needs; one per consumer. */
export interface RefreshDeps {
  log: EventLog;
  encoder: StateEncoder;
  /** Opened in "write" mode for the encoder's model version. */
  store: FeatureStore;
  maps: CodeMaps;
  /** L. */
  maxLen: number;
  /** Seeds first-seen users from the data set; none: logs hold only streamed events. */
  seeder?: Seeder;
  /** Rounds of step 4 before giving up on a user that keeps changing (default 4). */
  maxRounds?: number;
}

/** The counters of a refresh, which a consumer adds up (`stats.ts`). */
export const REFRESH_COUNTS = [
  "newEvents",
  "duplicates",
  "seeded",
  "encoded",
  "rewrites",
  "unsettled",
  "unknownLogged",
  "encodeMs",
] as const;
export type RefreshCounts = Record<(typeof REFRESH_COUNTS)[number], number>;

/** What one refresh did. */
export interface RefreshReport extends RefreshCounts {
  /** Events added to their user's log (new to it). */
  newEvents: number;
  /**
   * Events not kept: the log already held them (redeliveries, a producer's repeated XADD), or they
   * were older than every kept event of a full log.
   */
  duplicates: number;
  /** Users whose logs were seeded from the data. */
  seeded: number;
  /** Users encoded and written (counting rewrites). */
  encoded: number;
  /** Users written again because their log changed during the refresh (step 4). */
  rewrites: number;
  /**
   * Users still changing after `maxRounds` rewrites (their last writer may have been another
   * consumer with an older log; practically 0, counted so that it is never silent).
   */
  unsettled: number;
  /** Logged events skipped because the model does not know their item or type. */
  unknownLogged: number;
  /** Milliseconds spent in the encoder (the rest of a batch is Redis and store round trips). */
  encodeMs: number;
  /** `Date.now()` when the first write of the batch was acknowledged by the store. */
  writtenAtMs: number;
}

/** The events of a batch grouped by user, in entry order (Map iteration order = first seen). */
export function groupByUser(events: readonly StreamEvent[]): Map<string, ArrivingEvent[]> {
  const out = new Map<string, ArrivingEvent[]>();
  for (const e of events) {
    const list = out.get(e.user) ?? [];
    if (list.length === 0) out.set(e.user, list);
    list.push({ item: e.item, type: e.type, timestamp: e.timestamp, arrival: arrivalOf(e.entryId) });
  }
  return out;
}

/** Appends the seed events of each first-seen user of `users`; returns how many users were seeded. */
async function seedLogs(users: readonly string[], log: EventLog, seeder: Seeder): Promise<number> {
  const has = await log.has(users);
  const seeds = new Map<string, ArrivingEvent[]>();
  for (let i = 0; i < users.length; i++) {
    const seed = has[i] ? [] : seeder.seed(users[i]);
    if (seed.length > 0) seeds.set(users[i], seed);
  }
  if (seeds.size > 0) await log.append(seeds);
  return seeds.size;
}

/**
 * Encodes `users` from their logs and writes their states in one `putMany`; returns the
 * revisions the states were computed from (-1 for a user skipped because its log was empty).
 */
async function encodeAndWrite(
  users: readonly string[],
  deps: RefreshDeps,
): Promise<{ revisions: number[]; written: number; unknown: number; encodeMs: number }> {
  const logs = await deps.log.read(users);
  const { x, newest, unknown } = logBatch(
    logs.map((l) => l.events),
    deps.maps,
    deps.maxLen,
  );
  const t0 = performance.now();
  const h = await deps.encoder.encode(x);
  const encodeMs = performance.now() - t0;
  const d = deps.store.dim;
  if (h.length !== users.length * d) {
    throw new CtxrecError(
      "CTXREC_ERR_SHAPE",
      `the encoder returned ${h.length} values for ${users.length} users; expected [${users.length}, ${d}]`,
      { param: "encoder output" },
    );
  }
  const entries: StateEntry[] = [];
  const revisions = logs.map((l) => l.revision);
  for (let b = 0; b < users.length; b++) {
    if (Number.isNaN(newest[b])) {
      revisions[b] = -1;
      continue;
    }
    entries.push({
      user: users[b],
      vector: h.slice(b * d, (b + 1) * d),
      modelVersion: deps.store.modelVersion,
      computedAt: newest[b],
    });
  }
  if (entries.length > 0) await deps.store.putMany(entries);
  return { revisions, written: entries.length, unknown, encodeMs };
}

/** Runs steps 1-4 of the module comment for the valid events of one micro-batch. */
export async function refreshUsers(
  events: readonly StreamEvent[],
  deps: RefreshDeps,
): Promise<RefreshReport> {
  const byUser = groupByUser(events);
  const seeded = deps.seeder === undefined ? 0 : await seedLogs([...byUser.keys()], deps.log, deps.seeder);
  const kept = await deps.log.append(byUser);
  const newEvents = kept.reduce((a, b) => a + b, 0);
  const report: RefreshReport = {
    newEvents,
    duplicates: events.length - newEvents,
    seeded,
    encoded: 0,
    rewrites: 0,
    unsettled: 0,
    unknownLogged: 0,
    encodeMs: 0,
    writtenAtMs: 0,
  };
  let users = [...byUser.keys()];
  const rounds = deps.maxRounds ?? 4;
  for (let round = 0; users.length > 0 && round < rounds; round++) {
    const r = await encodeAndWrite(users, deps);
    if (round === 0) report.writtenAtMs = Date.now();
    else report.rewrites += r.written;
    report.encoded += r.written;
    report.unknownLogged += r.unknown;
    report.encodeMs += r.encodeMs;
    const now = await deps.log.revisions(users);
    users = users.filter((_, i) => r.revisions[i] >= 0 && now[i] !== r.revisions[i]);
  }
  report.unsettled = users.length;
  return report;
}
