/**
 * Which users an offline encode run visits: every user with at least one event (users known only
 * from the users file have no history to encode; the service serves them by the cold-start path),
 * or, for the daily incremental run, only those with an event strictly after `since`.
 */
import { CtxrecError } from "../core/errors.ts";
import type { CompiledDataset } from "../data/dataset.ts";

/**
 * `--since` as Unix seconds: an ISO 8601 time (`2024-05-01`, `2024-05-01T06:00:00Z`) or a number of
 * Unix seconds. CTXREC_ERR_ARG naming `param` otherwise.
 */
export function parseSinceTime(text: string, param = "--since"): number {
  const trimmed = text.trim();
  if (/^-?\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  // Date.parse accepts many loose forms; require the ISO shape so "5/1" is not read as a date.
  const ms = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(trimmed)
    ? Date.parse(trimmed)
    : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `'${text}' is neither an ISO 8601 time (e.g. 2024-05-01T00:00:00Z) nor Unix seconds`,
      { param },
    );
  }
  return ms / 1000;
}

/** Time (Unix seconds) of user `u`'s newest event; the data keeps events in time order. */
export function newestEventTime(ds: CompiledDataset, u: number): number {
  return ds.timestamps[ds.offsets[u + 1] - 1];
}

/**
 * User codes `[M]` to encode, increasing: users with ≥ 1 event, and with `since` given only those
 * whose newest event is later than `since` (Unix seconds).
 */
export function usersToEncode(ds: CompiledDataset, since?: number): Int32Array {
  const U = ds.offsets.length - 1;
  const out: number[] = [];
  for (let u = 1; u < U; u++) {
    if (ds.offsets[u + 1] === ds.offsets[u]) continue;
    if (since !== undefined && !(newestEventTime(ds, u) > since)) continue;
    out.push(u);
  }
  return Int32Array.from(out);
}
