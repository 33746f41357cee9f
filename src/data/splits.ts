/**
 * Train / validation / test splits as boundaries over the CSR sequences: nothing is copied. For
 * user u with events offsets[u] .. offsets[u+1]-1 (time order), a split gives three consecutive
 * ranges [start, validStart), [validStart, testStart), [testStart, end):
 *
 *   train = events offsets[u] .. validStart[u]-1
 *   valid = events validStart[u] .. testStart[u]-1
 *   test  = events testStart[u] .. offsets[u+1]-1
 *
 * All indices are positions in the dataset's `items` / `timestamps` / `types` arrays.
 */
import { CtxrecError } from "../core/errors.ts";

export interface Split {
  /** [U] first validation position of each user (= end of train). */
  validStart: Int32Array;
  /** [U] first test position of each user (= end of validation). */
  testStart: Int32Array;
}

/**
 * Leave-one-out (the SASRec protocol): the last event is the test target, the second-to-last the
 * validation target, the rest is train. Users with fewer than 3 events keep ALL their events in
 * train and have no validation or test target (as SASRec's data_partition does), so evaluation
 * covers exactly the users with ≥ 3 events.
 *
 * @param offsets [U + 1] CSR offsets by user code.
 */
export function leaveOneOut(offsets: Int32Array): Split {
  const U = offsets.length - 1;
  const validStart = new Int32Array(U);
  const testStart = new Int32Array(U);
  for (let u = 0; u < U; u++) {
    const end = offsets[u + 1];
    if (end - offsets[u] < 3) {
      validStart[u] = end;
      testStart[u] = end;
    } else {
      validStart[u] = end - 2;
      testStart[u] = end - 1;
    }
  }
  return { validStart, testStart };
}

/** First position in [a, b) whose timestamp is ≥ t (timestamps are sorted within a user). */
function lowerBound(timestamps: Float64Array, a: number, b: number, t: number): number {
  let lo = a;
  let hi = b;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (timestamps[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Time cut-off split: events before `validFrom` are train, events in [validFrom, testFrom) are
 * validation, events at or after `testFrom` are test (Unix seconds; `validFrom` defaults to
 * `testFrom`, i.e. no validation period). A user may land wholly in one part.
 *
 * @param offsets [U + 1] CSR offsets by user code.
 * @param timestamps [E] Unix seconds, sorted within each user.
 */
export function timeCutoff(
  offsets: Int32Array,
  timestamps: Float64Array,
  testFrom: number,
  validFrom: number = testFrom,
): Split {
  if (!(Number.isFinite(testFrom) && Number.isFinite(validFrom) && validFrom <= testFrom)) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `expected finite cut-offs with validFrom ≤ testFrom, got validFrom=${validFrom}, testFrom=${testFrom}`,
      { param: "validFrom/testFrom" },
    );
  }
  const U = offsets.length - 1;
  const validStart = new Int32Array(U);
  const testStart = new Int32Array(U);
  for (let u = 0; u < U; u++) {
    const a = offsets[u];
    const b = offsets[u + 1];
    validStart[u] = lowerBound(timestamps, a, b, validFrom);
    testStart[u] = lowerBound(timestamps, validStart[u], b, testFrom);
  }
  return { validStart, testStart };
}

/**
 * The timestamp below which a fraction `q` of all events fall (nearest-rank quantile), for picking
 * a cut-off such as "the last 10% of time is test": `timeCutoff(o, t, timeQuantile(t, 0.9))`.
 */
export function timeQuantile(timestamps: Float64Array, q: number): number {
  if (!(q >= 0 && q <= 1) || timestamps.length === 0) {
    throw new CtxrecError("CTXREC_ERR_ARG", `expected q in [0, 1] and at least one event, got q=${q}`, {
      param: "q",
    });
  }
  const sorted = Float64Array.from(timestamps).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Events in each part of a split (train, valid, test), summed over users. */
export function splitSizes(
  offsets: Int32Array,
  split: Split,
): { train: number; valid: number; test: number } {
  let train = 0;
  let valid = 0;
  let test = 0;
  for (let u = 0; u < offsets.length - 1; u++) {
    train += split.validStart[u] - offsets[u];
    valid += split.testStart[u] - split.validStart[u];
    test += offsets[u + 1] - split.testStart[u];
  }
  return { train, valid, test };
}
