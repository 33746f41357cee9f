/**
 * One Redis Stream entry → one event, or the reason it is malformed (pure; no Redis here).
 *
 * An entry carries the event as flat string fields, as `XADD` writes them:
 *
 *   user  the user id (1-512 characters)
 *   item  the item id; must be in the model's item vocabulary
 *   ts    Unix seconds of the event (a decimal number, ≥ 0, at most `maxFutureSeconds` ahead)
 *   type  optional event type; when present it must be in the model's event-type vocabulary
 *
 * Other fields are ignored (producers may add metadata). A malformed entry never stops the
 * consumer: it is counted, logged with its entry id and field, and acknowledged, since delivering
 * it again could not make it valid.
 */
import { MISSING, PAD } from "../data/vocab.ts";

/** A valid event taken from the stream. */
export interface StreamEvent {
  /** The entry id, `MS-SEQ`. */
  entryId: string;
  user: string;
  item: string;
  /** The event type id; undefined for an event without a type (the data's "missing" type). */
  type: string | undefined;
  /** Unix seconds. */
  timestamp: number;
  /** Milliseconds since the epoch at which Redis took the entry (the id's first part). */
  enqueuedMs: number;
}

/** Why an entry was refused. */
export interface MalformedEntry {
  entryId: string;
  /** The field at fault (`user`, `item`, `ts`, `type`, or `entry` for the entry as a whole). */
  field: string;
  reason: string;
}

/** What an entry is checked against; built once per consumer (`entryRules`). */
export interface EntryRules {
  /** Item ids of the model (padding excluded). */
  items: ReadonlySet<string>;
  /** Event-type ids of the model (padding and "missing" excluded). */
  types: ReadonlySet<string>;
  /** Whether a user id is known; undefined accepts every user. */
  knownUser?: (user: string) => boolean;
  /** How far (seconds) an event's time may lie ahead of the consumer's clock. */
  maxFutureSeconds: number;
}

/** Rules from a model's vocabularies (`vocab.json` names, code order). */
export function entryRules(
  vocabs: { items: readonly string[]; types: readonly string[] },
  opts: { knownUser?: (user: string) => boolean; maxFutureSeconds?: number } = {},
): EntryRules {
  const real = (names: readonly string[]) => new Set(names.filter((n) => n !== PAD && n !== MISSING));
  return {
    items: real(vocabs.items),
    types: real(vocabs.types),
    knownUser: opts.knownUser,
    maxFutureSeconds: opts.maxFutureSeconds ?? 3600,
  };
}

const ENTRY_ID = /^(\d{1,16})-(\d{1,10})$/;
const SECONDS = /^\d+(\.\d+)?$/;
const MAX_USER_LENGTH = 512;

/** The time part (ms) of an entry id, or undefined when the id is not `MS-SEQ`. */
export function entryIdMs(entryId: string): number | undefined {
  const m = ENTRY_ID.exec(entryId);
  return m === null ? undefined : Number(m[1]);
}

/** `true` when `x` is a MalformedEntry. */
export function isMalformed(x: StreamEvent | MalformedEntry): x is MalformedEntry {
  return "reason" in x;
}

/** Field name → value; a field given twice is refused (which copy would the producer mean?). */
function fieldMap(entryId: string, fields: readonly string[]): Map<string, string> | MalformedEntry {
  const out = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (out.has(fields[i])) return { entryId, field: fields[i], reason: "is given twice" };
    out.set(fields[i], fields[i + 1]);
  }
  return out;
}

/**
 * The event of entry `entryId` with `fields` (`[name, value, …]`; null for an entry deleted from
 * the stream while pending), or why it is malformed. `nowSeconds` is the consumer's clock.
 */
export function parseEntry(
  entryId: string,
  fields: readonly string[] | null,
  rules: EntryRules,
  nowSeconds: number,
): StreamEvent | MalformedEntry {
  const enqueuedMs = entryIdMs(entryId);
  if (enqueuedMs === undefined) return { entryId, field: "entry", reason: "has an id that is not MS-SEQ" };
  if (fields === null)
    return { entryId, field: "entry", reason: "was deleted from the stream before it was read" };
  const f = fieldMap(entryId, fields);
  if (!(f instanceof Map)) return f;
  const user = f.get("user");
  if (user === undefined || user.length === 0)
    return { entryId, field: "user", reason: "is missing or empty" };
  if (user.length > MAX_USER_LENGTH)
    return { entryId, field: "user", reason: `is longer than ${MAX_USER_LENGTH} characters` };
  if (rules.knownUser !== undefined && !rules.knownUser(user))
    return { entryId, field: "user", reason: `${JSON.stringify(user)} is not a known user` };
  const item = f.get("item");
  if (item === undefined || item.length === 0)
    return { entryId, field: "item", reason: "is missing or empty" };
  if (!rules.items.has(item))
    return {
      entryId,
      field: "item",
      reason: `${JSON.stringify(item.slice(0, 200))} is not an item of the model`,
    };
  const ts = f.get("ts");
  if (ts === undefined) return { entryId, field: "ts", reason: "is missing" };
  const timestamp = Number(ts);
  if (!SECONDS.test(ts) || !Number.isFinite(timestamp))
    return {
      entryId,
      field: "ts",
      reason: `${JSON.stringify(ts.slice(0, 40))} is not Unix seconds (a number ≥ 0)`,
    };
  if (timestamp > nowSeconds + rules.maxFutureSeconds)
    return {
      entryId,
      field: "ts",
      reason: `${ts} lies ${Math.round(timestamp - nowSeconds)} s in the future (at most ${rules.maxFutureSeconds} s allowed)`,
    };
  const type = f.get("type");
  if (type !== undefined && !rules.types.has(type))
    return {
      entryId,
      field: "type",
      reason: `${JSON.stringify(type.slice(0, 100))} is not an event type of the model`,
    };
  return { entryId, user, item, type, timestamp, enqueuedMs };
}

/** The log line of a malformed entry: `entry ID: field F: reason`. */
export function describeMalformed(m: MalformedEntry): string {
  return `entry ${m.entryId}: field ${m.field} ${m.reason}`;
}
