import { describe, expect, it } from "vitest";
import type { CgMetrics } from "./metrics.ts";
import { formatFunnelTable, funnelMetricsJson } from "./report.ts";
import type { FunnelReport } from "./simulator.ts";

const metrics = (name: string, recall: number): CgMetrics => ({
  name,
  k: 50,
  requests: 4,
  recallAtK: recall,
  relevanceMedian: 0.5,
  relevanceMean: 0.25,
  impressionShare: 0.125,
  deliveredShare: 0.01,
  candidates: 200,
  delivered: 2,
  impressions: 1.5,
  exclusiveCandidates: 100,
  exclusiveDelivered: 1,
  marginalRecallAtK: recall / 2,
});
const report: FunnelReport = {
  k: 50,
  slots: 3,
  noise: 0.1,
  seed: 1,
  requests: 4,
  impressions: 12,
  pool: { candidates: 300, recallAtK: 0.5 },
  metrics: [metrics("random", 0.25), metrics("empty", Number.NaN)],
};

describe("funnel report renderings", () => {
  it("keys recall by the run's K and writes NaN as null", () => {
    const json = funnelMetricsJson(report);
    expect(json.random).toEqual({
      "recall@50": 0.25,
      relevance_median: 0.5,
      relevance_mean: 0.25,
      survival_impression_share: 0.125,
      survival_delivered_share: 0.01,
      candidates: 200,
      delivered: 2,
      impressions: 1.5,
    });
    expect(json.empty["recall@50"]).toBeNull();
  });

  it("prints one aligned row per CG", () => {
    const lines = formatFunnelTable(report).split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^CG\s+recall@50\s+relevance median/);
    expect(lines[2]).toMatch(/^random\s+0\.2500\s+0\.5000\s+0\.2500\s+0\.1250\s+0\.0100$/);
    expect(lines[3]).toMatch(/^empty\s+—/);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
  });
});
