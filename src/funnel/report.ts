/**
 * Renderings of a funnel report: the JSON written by `ctxrec funnel --json` (snake_case metric
 * names, `recall@K` keyed by the run's K, NaN as null) and the readable table it prints.
 */
import type { CgMetrics } from "./metrics.ts";
import type { ReferenceFunnelReport } from "./referenceFunnel.ts";
import type { FunnelReport } from "./simulator.ts";

/** One CG's metrics as written to JSON. */
export type CgMetricsJson = Record<string, number | null>;

const orNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** The per-CG metrics keyed by CG name, with `recall@K` named after the run's K. */
export function funnelMetricsJson(report: FunnelReport): Record<string, CgMetricsJson> {
  const out: Record<string, CgMetricsJson> = {};
  for (const m of report.metrics) {
    out[m.name] = {
      [`recall@${report.k}`]: orNull(m.recallAtK),
      relevance_median: orNull(m.relevanceMedian),
      relevance_mean: orNull(m.relevanceMean),
      survival_impression_share: orNull(m.impressionShare),
      survival_delivered_share: orNull(m.deliveredShare),
      candidates: m.candidates,
      delivered: m.delivered,
      impressions: m.impressions,
    };
  }
  return out;
}

/** The readable table: one row per CG. */
export function formatFunnelTable(report: FunnelReport): string {
  const headers = [
    "CG",
    `recall@${report.k}`,
    "relevance median",
    "relevance mean",
    "impression share",
    "delivered share",
  ];
  const num = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : "—");
  const rows = report.metrics.map((m: CgMetrics) => [
    m.name,
    num(m.recallAtK),
    num(m.relevanceMedian),
    num(m.relevanceMean),
    num(m.impressionShare),
    num(m.deliveredShare),
  ]);
  return textTable(headers, rows);
}

/**
 * A plain-text table: the first column left-aligned, the others right-aligned, a dashed rule under
 * the headers; no trailing blanks where a row's last cells are empty.
 */
export function textTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/**
 * The settings shared by a run's surfaces (K, S, σ, seed, utility), read from the first report:
 * the header of every funnel document.
 */
export function funnelRunSettings(reports: Readonly<Record<string, ReferenceFunnelReport | undefined>>) {
  const first = Object.values(reports)[0];
  return {
    k: first?.k,
    slots: first?.slots,
    noise: first?.noise,
    seed: first?.seed,
    utility: first?.utility,
  };
}
