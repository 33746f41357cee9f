import { describe, expect, it } from "vitest";
import { buildSequences, toCsr } from "./compile.ts";

const cols = (rows: [number, number, number, number][]) => ({
  user: Int32Array.from(rows.map((r) => r[0])),
  item: Int32Array.from(rows.map((r) => r[1])),
  timestamp: Float64Array.from(rows.map((r) => r[2])),
  type: Int32Array.from(rows.map((r) => r[3])),
});

describe("buildSequences", () => {
  it("groups by user, orders by time, keeps file order on ties", () => {
    // rows: [user, item, ts, type]; U = 3 (code 0 = padding, users 1 and 2)
    const seq = buildSequences(
      cols([
        [2, 5, 30, 1], // e0
        [1, 7, 20, 1], // e1
        [2, 6, 10, 1], // e2
        [1, 8, 20, 2], // e3: same ts as e1 → stays after e1
        [1, 9, 5, 1], // e4
        [2, 4, 30, 1], // e5: same ts as e0 → stays after e0
      ]),
      3,
    );
    // user 1: e4(5) e1(20) e3(20) → items 9 7 8; user 2: e2(10) e0(30) e5(30) → items 6 5 4
    expect([...seq.offsets]).toEqual([0, 0, 3, 6]);
    expect([...seq.items]).toEqual([9, 7, 8, 6, 5, 4]);
    expect([...seq.timestamps]).toEqual([5, 20, 20, 10, 30, 30]);
    expect([...seq.types]).toEqual([1, 1, 2, 1, 1, 1]);
    expect(seq.duplicates).toBe(0);
  });

  it("drops exact duplicates (same user, item, ts, type) even when not adjacent in the file", () => {
    const seq = buildSequences(
      cols([
        [1, 3, 10, 1],
        [1, 4, 10, 1],
        [1, 3, 10, 1], // duplicate of row 0 → dropped
        [1, 3, 10, 2], // other type → kept
        [1, 3, 11, 1], // other time → kept
        [2, 3, 10, 1], // other user → kept
      ]),
      3,
    );
    expect(seq.duplicates).toBe(1);
    expect([...seq.offsets]).toEqual([0, 0, 4, 5]);
    expect([...seq.items]).toEqual([3, 4, 3, 3, 3]);
    expect([...seq.types]).toEqual([1, 1, 2, 1, 1]);
  });

  it("drops the second of a two-event tie when it is an exact copy (fast path)", () => {
    const seq = buildSequences(
      cols([
        [1, 3, 10, 1],
        [1, 3, 10, 1], // duplicate
        [1, 3, 12, 1],
        [1, 4, 12, 1], // same time, other item: kept
      ]),
      2,
    );
    expect(seq.duplicates).toBe(1);
    expect([...seq.items]).toEqual([3, 3, 4]);
  });

  it("handles users without events and no events at all", () => {
    expect([...buildSequences(cols([]), 3).offsets]).toEqual([0, 0, 0, 0]);
  });
});

describe("toCsr", () => {
  it("flattens rows with offsets", () => {
    const { offsets, values } = toCsr([[], [1, 2], [], [3]]);
    expect([...offsets]).toEqual([0, 0, 2, 2, 3]);
    expect([...values]).toEqual([1, 2, 3]);
  });
});
