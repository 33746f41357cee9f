/**
 * The compact per-user event log of `ctxrec stream`: each touched user's newest events, kept in
 * Redis beside the stream, so that any consumer of the group (on any machine) can rebuild the
 * user's last L events and re-encode them.
 *
 * Why Redis and not SQLite: a consumer group hands one user's events to whichever consumer reads
 * next, so every consumer must see every user's log; a SQLite file is one machine's. Redis is
 * already there (it holds the stream), and one Lua script per user makes an append atomic.
 *
 * Layout, per user (the `{USER}` hash tag keeps both keys in one slot):
 *
 *   PREFIX:{USER}:log   ZSET  score = event time (Unix seconds), member = ARRIVAL|["item","type"|null]
 *   PREFIX:{USER}:rev   STRING the log's revision, incremented by every append that kept a new event
 *
 * ARRIVAL is the stream entry id padded to a fixed width (`0000001733571234567-0000000003`; seeded
 * events from the data set use `0…0-POSITION`), so events with the same time sort by arrival, as
 * the data reader keeps ties in file order. The log keeps at most `cap` = L + 1 events: the last L
 * are encoded, the one before them gives the first its time gap, exactly as the offline batch
 * reads a longer history.
 *
 * Idempotent: an append skips an event whose (time, item, type) the log already holds, so a
 * redelivered entry, or a producer's retried XADD of the same event, changes nothing (the data
 * reader drops the same duplicates). An event older than every kept one of a full log is skipped, as
 * the trim would drop it at once (the oldest kept event never gets older once the log is full, so a
 * redelivered event that was trimmed before is skipped again); a skip does not bump the revision.
 */
import type { Redis } from "ioredis";

/** One event of a user's log. */
export interface LoggedEvent {
  item: string;
  /** Event type id; undefined for an event without a type. */
  type: string | undefined;
  /** Unix seconds. */
  timestamp: number;
}

/** An event with its place among events of the same time. */
export interface ArrivingEvent extends LoggedEvent {
  /** `arrivalOf(entryId)` or `seedArrival(position)`. */
  arrival: string;
}

/** A user's log as read: events in time order (ties by arrival) and the revision read with them. */
export interface UserLog {
  events: LoggedEvent[];
  revision: number;
}

/** Width of the ARRIVAL prefix and its separator: 16 + 1 + 10 + 1. */
const PREFIX_WIDTH = 28;

/** The fixed-width arrival key of a stream entry id `MS-SEQ`. */
export function arrivalOf(entryId: string): string {
  const dash = entryId.indexOf("-");
  return `${entryId.slice(0, dash).padStart(16, "0")}-${entryId.slice(dash + 1).padStart(10, "0")}`;
}

/** The arrival key of the `position`-th event of a user in the seeding data: before any entry. */
export function seedArrival(position: number): string {
  return `${"0".repeat(16)}-${String(position).padStart(10, "0")}`;
}

/** The ZSET member of an event. */
export function memberOf(e: ArrivingEvent): string {
  return `${e.arrival}|${JSON.stringify([e.item, e.type ?? null])}`;
}

/** The event of a ZSET member and its score (inverse of `memberOf`). */
export function eventOfMember(member: string, score: number): LoggedEvent {
  const [item, type] = JSON.parse(member.slice(PREFIX_WIDTH)) as [string, string | null];
  return { item, type: type ?? undefined, timestamp: score };
}

// KEYS[1] log, KEYS[2] revision; ARGV[1] cap, ARGV[2] ttl seconds (0: none), then score, member pairs.
// Returns the number of events added. An event is skipped when the log holds it already (same time
// and payload), or when the log is full and the event would sort before its oldest one (the trim
// would drop it at once). The log is trimmed after each add, so that rule always sees a full log.
const APPEND_LUA = `
local cap = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local added = 0
for i = 3, #ARGV - 1, 2 do
  local score, member = ARGV[i], ARGV[i + 1]
  local payload = string.sub(member, ${PREFIX_WIDTH + 1})
  local skip = false
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], score, score)) do
    if string.sub(m, ${PREFIX_WIDTH + 1}) == payload then skip = true break end
  end
  if not skip and redis.call('ZCARD', KEYS[1]) >= cap then
    local low = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    local s, ls = tonumber(score), tonumber(low[2])
    if s < ls or (s == ls and member < low[1]) then skip = true end
  end
  if not skip then
    redis.call('ZADD', KEYS[1], score, member)
    added = added + 1
    local n = redis.call('ZCARD', KEYS[1])
    if n > cap then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - cap - 1) end
  end
end
if added > 0 then redis.call('INCR', KEYS[2]) end
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
end
return added
`;

type AppendClient = Redis & {
  ctxrecAppendEvents(log: string, rev: string, ...args: (string | number)[]): Promise<number>;
};

/** Settings of an event log. */
export interface EventLogArgs {
  /** Key prefix (default `ctxrec:ev`); lets deployments share a server. */
  prefix?: string;
  /** Events kept per user: L + 1 for an encoder of history length L. */
  cap: number;
  /** Seconds after a user's last append at which Redis drops the log (0, the default: never). */
  ttlSeconds?: number;
}

/** The per-user event logs on one Redis server. */
export class EventLog {
  readonly prefix: string;
  readonly cap: number;
  private readonly ttl: number;
  private readonly redis: AppendClient;

  constructor(redis: Redis, args: EventLogArgs) {
    this.prefix = args.prefix ?? "ctxrec:ev";
    this.cap = args.cap;
    this.ttl = args.ttlSeconds ?? 0;
    if (!("ctxrecAppendEvents" in redis)) {
      redis.defineCommand("ctxrecAppendEvents", { numberOfKeys: 2, lua: APPEND_LUA });
    }
    this.redis = redis as AppendClient;
  }

  logKey = (user: string): string => `${this.prefix}:{${user}}:log`;
  revKey = (user: string): string => `${this.prefix}:{${user}}:rev`;

  /**
   * Appends each user's events (one atomic script per user, all sent in one round trip) and
   * returns, per user in map order, how many of them were added (neither held already nor older
   * than a full log's oldest event; a later event of the same append may still push one out).
   */
  async append(byUser: ReadonlyMap<string, readonly ArrivingEvent[]>): Promise<number[]> {
    const p = this.redis.pipeline();
    for (const [user, events] of byUser) {
      const args: (string | number)[] = [this.cap, this.ttl];
      for (const e of events) args.push(String(e.timestamp), memberOf(e));
      (p as unknown as AppendClient).ctxrecAppendEvents(this.logKey(user), this.revKey(user), ...args);
    }
    return (await execAll(p)) as number[];
  }

  /** Whether each user has a log (a seeded or appended one). */
  async has(users: readonly string[]): Promise<boolean[]> {
    const p = this.redis.pipeline();
    for (const u of users) p.exists(this.revKey(u));
    return ((await execAll(p)) as number[]).map((n) => n > 0);
  }

  /** Each user's revision (0 when the user has no log). */
  async revisions(users: readonly string[]): Promise<number[]> {
    const p = this.redis.pipeline();
    for (const u of users) p.get(this.revKey(u));
    return ((await execAll(p)) as (string | null)[]).map((r) => Number(r ?? 0));
  }

  /** Each user's log and revision, every user's pair read atomically (one MULTI). */
  async read(users: readonly string[]): Promise<UserLog[]> {
    const m = this.redis.multi();
    for (const u of users) {
      m.zrange(this.logKey(u), "0", "-1", "WITHSCORES");
      m.get(this.revKey(u));
    }
    const out = (await execAll(m)) as (string[] | string | null)[];
    return users.map((_, i) => {
      const flat = out[2 * i] as string[];
      const events: LoggedEvent[] = [];
      for (let j = 0; j + 1 < flat.length; j += 2) events.push(eventOfMember(flat[j], Number(flat[j + 1])));
      return { events, revision: Number(out[2 * i + 1] ?? 0) };
    });
  }
}

/** Runs a pipeline or transaction; the first failed command's error is thrown. */
async function execAll(p: { exec(): Promise<[Error | null, unknown][] | null> }): Promise<unknown[]> {
  const res = await p.exec();
  if (res === null) throw new Error("the Redis transaction was aborted");
  return res.map(([err, v]) => {
    if (err !== null) throw err;
    return v;
  });
}
