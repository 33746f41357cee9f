/**
 * Pure compilation steps from event columns (file order) to per-user time-ordered CSR sequences.
 * Kept apart from the builder so they can be tested on hand-made arrays.
 */

export interface EventColumns {
  /** [E] user code of each event, file order. */
  user: Int32Array;
  /** [E] item code. */
  item: Int32Array;
  /** [E] Unix seconds. */
  timestamp: Float64Array;
  /** [E] event-type code. */
  type: Int32Array;
}

export interface Sequences {
  /** [U + 1] CSR offsets by user code. */
  offsets: Int32Array;
  /** [E'] item codes per user in time order. */
  items: Int32Array;
  /** [E'] Unix seconds. */
  timestamps: Float64Array;
  /** [E'] event-type codes. */
  types: Int32Array;
  /** Exact duplicates dropped (E - E'). */
  duplicates: number;
}

/**
 * Groups events by user (counting sort, stable), orders each user's events by timestamp with ties
 * kept in file order, and drops exact duplicates (same user, item, timestamp and type) after their
 * first copy. `numUsers` is the user vocabulary size U (codes 0..U-1).
 */
export function buildSequences(ev: EventColumns, numUsers: number): Sequences {
  const E = ev.user.length;
  const counts = new Int32Array(numUsers + 1);
  for (let e = 0; e < E; e++) counts[ev.user[e] + 1]++;
  for (let u = 0; u < numUsers; u++) counts[u + 1] += counts[u];
  // counts is now the start offset of each user; perm lists event indices grouped by user, file order within.
  const cursor = counts.slice(0, numUsers);
  const perm = new Int32Array(E);
  for (let e = 0; e < E; e++) perm[cursor[ev.user[e]]++] = e;

  for (let u = 0; u < numUsers; u++) {
    const a = counts[u];
    const b = counts[u + 1];
    let sorted = true;
    for (let k = a + 1; k < b && sorted; k++) sorted = ev.timestamp[perm[k - 1]] <= ev.timestamp[perm[k]];
    if (!sorted) {
      // (timestamp, file index) is a total order, so ties keep file order whatever the sort's stability.
      // Plain-array sort: V8's comparator sort is faster on an Array than on an Int32Array view.
      const seg = Array.from(perm.subarray(a, b));
      seg.sort((x, y) => ev.timestamp[x] - ev.timestamp[y] || x - y);
      perm.set(seg, a);
    }
  }

  // Drop exact duplicates: they can only sit within one run of equal timestamps of one user.
  const keep = new Uint8Array(E).fill(1);
  let duplicates = 0;
  for (let u = 0; u < numUsers; u++) {
    const b = counts[u + 1];
    let runStart = counts[u];
    while (runStart < b) {
      let runEnd = runStart + 1;
      const t = ev.timestamp[perm[runStart]];
      while (runEnd < b && ev.timestamp[perm[runEnd]] === t) runEnd++;
      if (runEnd - runStart === 2) {
        // The common tie of two events needs no Set.
        const x = perm[runStart];
        const y = perm[runStart + 1];
        if (ev.item[x] === ev.item[y] && ev.type[x] === ev.type[y]) {
          keep[runStart + 1] = 0;
          duplicates++;
        }
      } else if (runEnd - runStart > 2) duplicates += markDuplicates(perm, runStart, runEnd, ev, keep);
      runStart = runEnd;
    }
  }

  const kept = E - duplicates;
  const offsets = new Int32Array(numUsers + 1);
  const items = new Int32Array(kept);
  const timestamps = new Float64Array(kept);
  const types = new Int32Array(kept);
  let w = 0;
  for (let u = 0; u < numUsers; u++) {
    offsets[u] = w;
    for (let k = counts[u]; k < counts[u + 1]; k++) {
      const e = perm[k];
      if (!keep[k]) continue;
      items[w] = ev.item[e];
      timestamps[w] = ev.timestamp[e];
      types[w] = ev.type[e];
      w++;
    }
  }
  offsets[numUsers] = w;
  return { offsets, items, timestamps, types, duplicates };
}

/** Marks later copies of (item, type) within perm[a..b) (one user, one timestamp) in `keep`; returns how many. */
function markDuplicates(perm: Int32Array, a: number, b: number, ev: EventColumns, keep: Uint8Array): number {
  const seen = new Set<number>();
  let n = 0;
  for (let k = a; k < b; k++) {
    const e = perm[k];
    // Item and type codes are < 2^26 in any realistic vocabulary; pack both into one exact double key.
    const key = ev.item[e] * 2 ** 26 + ev.type[e];
    if (seen.has(key)) {
      keep[k] = 0;
      n++;
    } else seen.add(key);
  }
  return n;
}

/**
 * Builds a CSR from per-row lists. Returns offsets [R + 1] and the flattened values.
 * Used for item → categories and item → countries.
 */
export function toCsr(rows: ReadonlyArray<ArrayLike<number>>): { offsets: Int32Array; values: Int32Array } {
  const offsets = new Int32Array(rows.length + 1);
  for (let r = 0; r < rows.length; r++) offsets[r + 1] = offsets[r] + rows[r].length;
  const values = new Int32Array(offsets[rows.length]);
  for (let r = 0; r < rows.length; r++) values.set(rows[r], offsets[r]);
  return { offsets, values };
}
