/**
 * Users' event logs → the encoder's input (pure). The logs hold ids; the encoder takes the model's
 * codes. The batch is laid out by the offline batch's own `lastEventsBatch`, so a streamed user's
 * state is computed from the very input `ctxrec encode` builds for the same history.
 * Shapes: B users, L history length, E events in all the logs.
 */
import { MISSING } from "../data/vocab.ts";
import type { EventArrays } from "../model/sequences.ts";
import { lastEventsBatch } from "../offline/encodeUsers.ts";
import type { EncoderInput } from "../onnx/runtime.ts";
import type { LoggedEvent } from "./eventLog.ts";

/** id → code maps of the model's vocabularies. */
export interface CodeMaps {
  items: ReadonlyMap<string, number>;
  /** Event types; the type-less event has code `missingType`. */
  types: ReadonlyMap<string, number>;
  missingType: number;
}

/** Code maps from `vocab.json` name lists (index = code). */
export function codeMaps(vocabs: { items: readonly string[]; types: readonly string[] }): CodeMaps {
  const index = (names: readonly string[]) => new Map(names.map((n, i) => [n, i]));
  const types = index(vocabs.types);
  // Vocab.optional(): code 1 is MISSING, the code of an event without a type.
  return { items: index(vocabs.items), types, missingType: types.get(MISSING) ?? 1 };
}

/** The encoder input of `logs` (one row each) plus what the rows hold. */
export interface LogBatch {
  x: EncoderInput;
  /** [B] time of each row's newest event (the state's `computedAt`); NaN for an empty log. */
  newest: Float64Array;
  /** Logged events whose item or type the model does not know (skipped; a log from another model). */
  unknown: number;
}

/**
 * Encoder input `[B, L]` of the last `maxLen` events of each log (events in time order), padded
 * to L as the offline batch pads, with the same time-gap rule: the event before the first encoded
 * one, when the log holds it, gives it its gap.
 */
export function logBatch(
  logs: readonly (readonly LoggedEvent[])[],
  maps: CodeMaps,
  maxLen: number,
): LogBatch {
  const B = logs.length;
  let E = 0;
  for (const l of logs) E += l.length;
  const ev: EventArrays = {
    items: new Int32Array(E),
    types: new Int32Array(E),
    timestamps: new Float64Array(E),
  };
  const firsts = new Int32Array(B);
  const ends = new Int32Array(B);
  const newest = new Float64Array(B).fill(Number.NaN);
  let e = 0;
  let unknown = 0;
  for (let b = 0; b < B; b++) {
    firsts[b] = e;
    for (const x of logs[b]) {
      const item = maps.items.get(x.item);
      const type = x.type === undefined ? maps.missingType : maps.types.get(x.type);
      if (item === undefined || item === 0 || type === undefined || type === 0) {
        unknown++;
        continue;
      }
      ev.items[e] = item;
      ev.types[e] = type;
      ev.timestamps[e] = x.timestamp;
      e++;
    }
    ends[b] = e;
    if (e > firsts[b]) newest[b] = ev.timestamps[e - 1];
  }
  return { x: lastEventsBatch(ev, firsts, ends, maxLen), newest, unknown };
}
