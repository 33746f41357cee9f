/** The consumer's lag window, its quantiles, the progress line and the JSON stats. */
import { describe, expect, it } from "vitest";
import { addRefresh, createStreamStats, LagWindow, permille, statsJson, statsLine } from "./stats.ts";

describe("LagWindow", () => {
  it("keeps the newest `capacity` lags and counts them all", () => {
    const w = new LagWindow(4);
    for (const ms of [1000, 1, 2, 3, 4, 5]) w.add(ms);
    expect(w.count).toBe(6);
    // 1000 and 1 were pushed out; the window holds 2..5 (in ring order).
    expect([...w.values()].sort((a, b) => a - b)).toEqual([2, 3, 4, 5]);
    // Median of 2, 3, 4, 5 by interpolation: 3.5.
    expect(w.quantile(0.5)).toBe(3.5);
    expect(new LagWindow(8).quantile(0.5)).toBeNaN();
  });
});

describe("permille", () => {
  it("gives 1001 order statistics in seconds: lags 0..999 ms → rank k/1000 of them", () => {
    const p = permille(Float64Array.from({ length: 1000 }, (_, i) => i));
    expect(p).toHaveLength(1001);
    // rank round(k/1000 · 999): k = 0 → 0 ms, 500 → 500 ms (round(499.5) = 500), 1000 → 999 ms.
    expect([p[0], p[500], p[1000]]).toEqual([0, 0.5, 0.999]);
    expect(permille(new Float64Array(0))).toEqual([]);
  });
});

describe("stats", () => {
  it("sums refreshes and reports them as a line and as JSON", () => {
    const s = createStreamStats();
    const r = {
      newEvents: 3,
      duplicates: 1,
      seeded: 0,
      encoded: 2,
      rewrites: 0,
      unsettled: 0,
      unknownLogged: 0,
      encodeMs: 12,
      writtenAtMs: 0,
    };
    addRefresh(s, r);
    addRefresh(s, r);
    s.entries = 8;
    s.malformed = 1;
    for (const ms of [100, 200, 300]) s.lag.add(ms);
    expect(s).toMatchObject({ newEvents: 6, duplicates: 2, encoded: 4, encodeMs: 24 });
    expect(statsLine(s, 2)).toBe(
      "8 entries (4/s), 6 new events, 4 users encoded, lag p50 0.200 s p99 0.298 s, 1 malformed, 2 duplicates, 0 claimed, 0 retries",
    );
    const j = statsJson(s, 2);
    expect(j).toMatchObject({ entries: 8, newEvents: 6, seconds: 2 });
    expect(j.lag).toMatchObject({ count: 3, window: 3, p50Seconds: 0.2, maxSeconds: 0.3 });
    expect(j.lag.permilleSeconds).toHaveLength(1001);
  });
});
