/**
 * The funnel section: per sweep file and surface, recall@K, median candidate relevance and the
 * two survival shares against the world's context strength r, one curve per candidate generator
 * with its 95% band over seeds; then the contextual/baseline lift table next to the original
 * system's claims.
 */
import { barChart, type CurvePoint, curveChart, renderSvg } from "../charts.ts";
import type { Sourced } from "../discover.ts";
import { esc, figure, notRunYet, num, type Section, sources, table, withInterval } from "../html.ts";
import type { FunnelInput, SweepInput } from "../inputs.ts";

export const SWEEP_COMMAND =
  "ctxrec funnel-sweep --r 0,0.25,0.5,0.75,1 --seeds 1,2,3 --preset tiny --out RUNS/sweep";

/** The four headline metrics of a sweep with K, and their axis titles. */
export function sweepMetrics(k: number): [string, string][] {
  return [
    [`recall@${k}`, `recall@${k} (next conversion)`],
    ["relevance_median", "median relevance"],
    ["relevance_mean", "mean relevance"],
    ["survival_impression_share", "impression share"],
    ["survival_delivered_share", "delivered share"],
  ];
}

/** Curve points of `metric` for every CG over r (entries with no mean are left out). */
export function sweepCurve(s: SweepInput, surface: string, metric: string): CurvePoint[] {
  const out: CurvePoint[] = [];
  for (const r of s.rs) {
    const byCg = s.summary[surface]?.[String(r)] ?? {};
    for (const cg of s.cgs) {
      const iv = byCg[cg]?.[metric];
      if (iv === undefined || iv.mean === null) continue;
      out.push({ x: r, series: cg, y: iv.mean, low: iv.low, high: iv.high });
    }
  }
  return out;
}

const LIFTS: [string, string, number][] = [
  ["recall_ratio", "recall ratio (claim 3–10×)", 3],
  ["relevance_lift_pct", "relevance lift % (claim +275–300%)", 1],
  ["relevance_mean_lift_pct", "mean-relevance lift %", 1],
  ["delivered_ratio", "delivered ratio (claim 2×)", 3],
];

async function fileBlock({ file, data }: Sourced<SweepInput>, index: number): Promise<string> {
  const parts: string[] = [
    `<h3>${esc(`${data.preset ?? "world"} preset, K = ${data.k}, seeds ${data.seeds.join(", ")}`)}</h3>`,
  ];
  for (const surface of data.surfaces) {
    const charts: string[] = [];
    for (const [metric, title] of sweepMetrics(data.k)) {
      const points = sweepCurve(data, surface, metric);
      if (points.length === 0) continue;
      const svg = await renderSvg(
        curveChart({
          title: `${title} (${surface})`,
          xTitle: "context strength r",
          yTitle: metric,
          seriesTitle: "CG",
          points,
          xValues: data.rs,
        }),
      );
      charts.push(
        figure(
          `sweep-${index}-${surface}-${metric}`,
          svg,
          `${metric} per CG, mean and 95% t band over ${data.seeds.length} seed(s)`,
        ),
      );
    }
    parts.push(`<h3>${esc(surface)}</h3>`, `<div class="charts">${charts.join("\n")}</div>`);
    const lift = data.lift?.[surface];
    if (lift !== undefined) {
      const rows = data.rs.map((r) => [
        String(r),
        ...LIFTS.map(([key, , digits]) => {
          const iv = lift[String(r)]?.[key];
          return iv === undefined ? "—" : withInterval(iv.mean, iv.low, iv.high, digits);
        }),
      ]);
      parts.push(
        `<p class="note">ctxrec over ctxrec-baseline on ${esc(surface)}, mean [95% interval] over seeds; the original system's claims in brackets.</p>`,
        table(["r", ...LIFTS.map(([, h]) => h)], rows, 1),
      );
    }
  }
  parts.push(sources([file]));
  return parts.join("\n");
}

/** One funnel run (no sweep): per surface a bar chart per metric and the table, with the lift. */
async function runBlock({ file, data }: Sourced<FunnelInput>, index: number): Promise<string> {
  const parts: string[] = [
    `<h3>${esc(`one run${data.world === undefined ? "" : ` on ${data.world}`}, K = ${data.k}${data.seed === undefined ? "" : `, seed ${data.seed}`}`)}</h3>`,
  ];
  const metrics = sweepMetrics(data.k);
  for (const [surface, s] of Object.entries(data.surfaces)) {
    const cgs = Object.keys(s.metrics);
    const charts: string[] = [];
    for (const [metric, title] of metrics) {
      const rows = cgs
        .map((cg) => ({ label: cg, value: s.metrics[cg][metric] }))
        .filter((r): r is { label: string; value: number } => typeof r.value === "number");
      if (rows.length === 0) continue;
      const svg = await renderSvg(barChart(`${title} (${surface})`, metric, rows));
      charts.push(figure(`funnel-${index}-${surface}-${metric}`, svg, `${metric} per CG, one run`));
    }
    const rows = cgs.map((cg) => [cg, ...metrics.map(([m]) => num(s.metrics[cg][m]))]);
    const lift = s.lift;
    parts.push(
      `<h3>${esc(surface)}${s.requests === undefined ? "" : ` (${s.requests.toLocaleString("en-US")} requests)`}</h3>`,
      `<div class="charts">${charts.join("\n")}</div>`,
      table(["CG", ...metrics.map(([m]) => m)], rows, 1),
      lift === undefined
        ? ""
        : table(
            ["", ...LIFTS.map(([, h]) => h)],
            [["ctxrec over ctxrec-baseline", ...LIFTS.map(([key, , digits]) => num(lift[key], digits))]],
            1,
          ),
    );
  }
  parts.push(sources([file]));
  return parts.join("\n");
}

export async function funnelSection(
  sweeps: readonly Sourced<SweepInput>[],
  runs: readonly Sourced<FunnelInput>[] = [],
): Promise<Section> {
  const blocks: string[] = [
    '<p class="note">Synthetic world (DESIGN §6.3): every CG retrieves K candidates per request; a ranker and an auction pick the impressions. Relevance is the category similarity of a candidate to the subject item (Related-Items) or the query (Search); survival is a CG\'s share of the impressions and of its own candidates delivered.</p>',
  ];
  if (sweeps.length === 0) blocks.push(notRunYet(SWEEP_COMMAND, "no sweep.json found: no curves over r"));
  for (let i = 0; i < sweeps.length; i++) blocks.push(await fileBlock(sweeps[i], i));
  for (let i = 0; i < runs.length; i++) blocks.push(await runBlock(runs[i], i));
  return {
    id: "funnel",
    title: "Funnel: recall, relevance and survival vs context strength",
    present: sweeps.length + runs.length > 0,
    html: blocks.join("\n"),
  };
}
