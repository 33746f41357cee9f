import { describe, expect, it } from "vitest";
import { leaveOneOut, splitSizes, timeCutoff, timeQuantile } from "./splits.ts";

// Hand-made CSR: user 0 = padding (no events), user 1 has 4 events, user 2 has 2, user 3 has 3, user 4 has 0.
//   positions: u1 → 0..3, u2 → 4..5, u3 → 6..8
const offsets = Int32Array.from([0, 0, 4, 6, 9, 9]);
const timestamps = Float64Array.from([10, 20, 30, 40, 15, 35, 5, 25, 45]);

describe("leaveOneOut", () => {
  it("puts the last event in test, the second-to-last in validation, the rest in train", () => {
    const s = leaveOneOut(offsets);
    // u1: train 0..1, valid 2, test 3; u3: train 6, valid 7, test 8
    expect([...s.validStart]).toEqual([0, 2, 6, 7, 9]);
    expect([...s.testStart]).toEqual([0, 3, 6, 8, 9]);
  });

  it("keeps users with < 3 events wholly in train (no validation or test target)", () => {
    const s = leaveOneOut(offsets);
    // u2 (2 events): validStart = testStart = end = 6
    expect(s.validStart[2]).toBe(6);
    expect(s.testStart[2]).toBe(6);
    // train = 2 (u1) + 2 (u2) + 1 (u3) = 5; valid = 1 + 1 = 2; test = 2
    expect(splitSizes(offsets, s)).toEqual({ train: 5, valid: 2, test: 2 });
  });
});

describe("timeCutoff", () => {
  it("splits each user at the cut-offs (train < validFrom ≤ valid < testFrom ≤ test)", () => {
    const s = timeCutoff(offsets, timestamps, 35, 20);
    // u1 [10,20,30,40]: train {10}, valid {20,30}, test {40} → validStart 1, testStart 3
    // u2 [15,35]: train {15}, valid {}, test {35} → 5, 5
    // u3 [5,25,45]: train {5}, valid {25}, test {45} → 7, 8
    expect([...s.validStart]).toEqual([0, 1, 5, 7, 9]);
    expect([...s.testStart]).toEqual([0, 3, 5, 8, 9]);
    expect(splitSizes(offsets, s)).toEqual({ train: 3, valid: 3, test: 3 });
  });

  it("without validFrom has no validation period", () => {
    const s = timeCutoff(offsets, timestamps, 100);
    expect(splitSizes(offsets, s)).toEqual({ train: 9, valid: 0, test: 0 });
  });

  it("rejects validFrom after testFrom", () => {
    expect(() => timeCutoff(offsets, timestamps, 10, 20)).toThrow(
      "parameter validFrom/testFrom: expected finite cut-offs with validFrom ≤ testFrom, got validFrom=20, testFrom=10",
    );
  });
});

describe("timeQuantile", () => {
  it("returns the nearest-rank quantile of all timestamps", () => {
    // sorted: 5 10 15 20 25 30 35 40 45; q = 0.5 → index floor(4.5) = 4 → 25; q = 1 → 45
    expect(timeQuantile(timestamps, 0.5)).toBe(25);
    expect(timeQuantile(timestamps, 1)).toBe(45);
    expect(timeQuantile(timestamps, 0)).toBe(5);
  });
});
