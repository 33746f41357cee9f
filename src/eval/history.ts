/**
 * Builds the `HistoryBatch`es the protocols hand to a scorer. The batch holds COPIES of each user's
 * events strictly before a cut position (the target), never views into the data set, so nothing a
 * scorer does with a batch can reach the target event or anything after it.
 */
import { CtxrecError } from "../core/errors.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import { DEMOGRAPHIC_FIELDS, type DemographicField } from "../data/schema.ts";
import type { HistoryBatch } from "./scorer.ts";

/** A batch without any context: what `loo` builds (a target-derived context cannot be passed). */
export type ContextFreeBatch = HistoryBatch & { readonly context?: undefined };

/**
 * The histories of `users`, each cut before `cuts[b]`: user b's history is the data set positions
 * `offsets[u] .. cuts[b]-1` (time order), copied.
 *
 * @param users [B] user codes
 * @param cuts [B] first position NOT in the history (the target's position), within the user's range
 */
export function buildHistoryBatch(
  ds: CompiledDataset,
  users: Int32Array,
  cuts: Int32Array,
): ContextFreeBatch {
  const B = users.length;
  if (cuts.length !== B) {
    throw new CtxrecError("CTXREC_ERR_SHAPE", `expected ${B} cut positions, received ${cuts.length}`, {
      param: "cuts",
    });
  }
  const historyOffsets = new Int32Array(B + 1);
  for (let b = 0; b < B; b++) {
    const u = users[b];
    const start = ds.offsets[u];
    if (!(u > 0 && u < ds.offsets.length - 1 && cuts[b] >= start && cuts[b] <= ds.offsets[u + 1])) {
      throw new CtxrecError(
        "CTXREC_ERR_ARG",
        `user code ${u} with cut ${cuts[b]} is outside the data set (user codes 1..${ds.offsets.length - 2}, ` +
          `cut within the user's events ${start}..${ds.offsets[u + 1]})`,
        { param: `cuts[${b}]` },
      );
    }
    historyOffsets[b + 1] = historyOffsets[b] + (cuts[b] - start);
  }
  const H = historyOffsets[B];
  const items = new Int32Array(H);
  const types = new Int32Array(H);
  const timestamps = new Float64Array(H);
  for (let b = 0; b < B; b++) {
    const start = ds.offsets[users[b]];
    // `set` copies into buffers owned by the batch: it shares no memory with the data set.
    items.set(ds.items.subarray(start, cuts[b]), historyOffsets[b]);
    types.set(ds.types.subarray(start, cuts[b]), historyOffsets[b]);
    timestamps.set(ds.timestamps.subarray(start, cuts[b]), historyOffsets[b]);
  }
  const demographics = {} as Record<DemographicField, Int32Array>;
  for (const f of DEMOGRAPHIC_FIELDS) {
    const col = ds.demographics[f].codes;
    demographics[f] = Int32Array.from(users, (u) => col[u]);
  }
  return { size: B, users: Int32Array.from(users), historyOffsets, items, types, timestamps, demographics };
}
