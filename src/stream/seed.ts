/**
 * Seeding the event logs from the data set the daily batch encoded (`ctxrec stream --format …
 * --path …`): the first time the stream touches a user whose log does not exist yet, the user's
 * newest `cap` events from the data go into the log before the streamed ones, so the re-encoded
 * state sees the whole recent history and not only what arrived on the stream. Seeded events carry
 * arrival keys below every entry id, and appending them twice (two consumers seeding one user at
 * once) adds nothing, as any duplicate event.
 */
import type { CompiledDataset } from "../data/dataset.ts";
import { type ArrivingEvent, seedArrival } from "./eventLog.ts";

/** Where seed events come from. */
export interface Seeder {
  /** Whether the data knows the user. */
  knownUser(user: string): boolean;
  /** The user's newest `cap` events from the data, oldest first; [] for a user without events. */
  seed(user: string): ArrivingEvent[];
}

/** A seeder over `ds` keeping at most `cap` events per user. */
export function datasetSeeder(ds: CompiledDataset, cap: number): Seeder {
  const typeNames = ds.typeVocab.names;
  return {
    knownUser: (user) => ds.userVocab.get(user) !== undefined,
    seed(user) {
      const u = ds.userVocab.get(user);
      if (u === undefined) return [];
      const first = ds.offsets[u];
      const end = ds.offsets[u + 1];
      const out: ArrivingEvent[] = [];
      for (let e = Math.max(first, end - cap); e < end; e++) {
        const t = ds.types[e];
        out.push({
          item: ds.itemVocab.names[ds.items[e]],
          // Code 1 is the data's "no type" (Vocab.optional()).
          type: t === 1 ? undefined : typeNames[t],
          timestamp: ds.timestamps[e],
          arrival: seedArrival(e - first),
        });
      }
      return out;
    },
  };
}
