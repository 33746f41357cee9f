/**
 * The staleness section: for each stale-context result, the metric against how stale the cached
 * state is (time cut-off, or events dropped), for the baseline, the contextual model (with and
 * without its context) and the fresh upper reference, plus the paired contextual − baseline gain
 * with its 95% interval band.
 */
import { type CurvePoint, curveChart, renderSvg } from "../charts.ts";
import type { Sourced } from "../discover.ts";
import { esc, figure, notRunYet, num, type Section, sources, table, withInterval } from "../html.ts";
import type { StaleInput } from "../inputs.ts";

export const STALE_COMMAND =
  "ctxrec eval --protocol stale-context --model DIR --baseline DIR2 <data flags> [--cutoff 1h,24h,7d,30d | --drop-last 1,2,4] --json RUNS/stale-DATASET.json";

type Setting = StaleInput["settings"][number];
type Figure = keyof Setting["metrics"];

/** Figures in legend order with their legend names. */
const FIGURES: readonly [Figure, string][] = [
  ["baseline", "baseline"],
  ["contextual", "contextual"],
  ["contextualNoContext", "contextual, no context"],
  ["fresh", "fresh"],
];

/** The metrics to chart: hit@10 and ndcg@10 when present, else the first two of the file. */
export function staleMetrics(r: StaleInput): string[] {
  const names = Object.keys(r.settings[0].metrics.baseline);
  const ten = names.filter((n) => n === "hit@10" || n === "ndcg@10");
  return ten.length > 0 ? ten : names.slice(0, 2);
}

/** x of a setting: cut-off in hours, or events dropped. */
function xOf(s: Setting): number | undefined {
  if (s.kind === "cutoff") return s.cutoffSeconds === undefined ? undefined : s.cutoffSeconds / 3600;
  return s.dropLast;
}

/** The curve points of `metric` per figure, for the settings of one kind. */
export function staleCurve(settings: readonly Setting[], metric: string): CurvePoint[] {
  const out: CurvePoint[] = [];
  for (const s of settings) {
    const x = xOf(s);
    if (x === undefined) continue;
    for (const [fig, name] of FIGURES) {
      const y = s.metrics[fig]?.[metric];
      if (y !== undefined) out.push({ x, series: name, y });
    }
  }
  return out;
}

/** contextual − baseline per metric, with the paired 95% interval. */
function gainCurve(settings: readonly Setting[], metrics: readonly string[]): CurvePoint[] {
  const out: CurvePoint[] = [];
  for (const s of settings) {
    const x = xOf(s);
    if (x === undefined) continue;
    for (const m of metrics) {
      const g = s.gains?.contextualVsBaseline[m];
      if (g !== undefined) out.push({ x, series: m, y: g.mean, low: g.ci95[0], high: g.ci95[1] });
    }
  }
  return out;
}

async function fileBlock({ file, data }: Sourced<StaleInput>, index: number): Promise<string> {
  const metrics = staleMetrics(data);
  const charts: string[] = [];
  for (const kind of ["cutoff", "drop-last"] as const) {
    const settings = data.settings.filter((s) => s.kind === kind);
    if (settings.length === 0) continue;
    const cutoff = kind === "cutoff";
    const xTitle = cutoff ? "state cut-off before the target (hours, log)" : "events dropped from the state";
    const xValues = settings.map(xOf).filter((x): x is number => x !== undefined);
    const xLabels = cutoff
      ? Object.fromEntries(settings.map((s) => [String(xOf(s)), s.setting.replace(/^cutoff /, "")]))
      : undefined;
    const axis = { xTitle, xLog: cutoff && xValues.length > 1, xValues, xLabels };
    for (const m of metrics) {
      const svg = await renderSvg(
        curveChart({
          title: `${m.toUpperCase()} vs staleness`,
          yTitle: m.toUpperCase(),
          seriesTitle: "figure",
          points: staleCurve(settings, m),
          ...axis,
        }),
      );
      charts.push(
        figure(
          `stale-${index}-${kind}-${m}`,
          svg,
          `${m} per setting, same users for every figure; baseline and contextual on the stale state (contextual with the context), fresh on the full history`,
        ),
      );
    }
    const gains = gainCurve(settings, metrics);
    if (gains.length > 0) {
      const svg = await renderSvg(
        curveChart({
          title: "contextual − baseline",
          yTitle: "paired gain",
          seriesTitle: "metric",
          points: gains,
          zeroRule: true,
          ...axis,
        }),
      );
      charts.push(
        figure(`stale-${index}-${kind}-gain`, svg, "paired gain over the same users, band: 95% interval"),
      );
    }
  }
  const rows = data.settings.map((s) => [
    s.setting,
    s.users.toLocaleString("en-US"),
    ...metrics.flatMap((m) => FIGURES.map(([f]) => num(s.metrics[f]?.[m]))),
    ...metrics.map((m) => {
      const g = s.gains?.contextualVsBaseline[m];
      return g === undefined ? "—" : withInterval(g.mean, g.ci95[0], g.ci95[1]);
    }),
  ]);
  const heads = [
    "setting",
    "users",
    ...metrics.flatMap((m) => FIGURES.map(([, name]) => `${m} ${name}`)),
    ...metrics.map((m) => `${m} ctx − base [95%]`),
  ];
  const models =
    data.models === undefined
      ? ""
      : ` — baseline ${data.models.baseline}, contextual ${data.models.contextual}`;
  return [
    `<h3>${esc(data.dataset)}${esc(models)}</h3>`,
    `<div class="charts">${charts.join("\n")}</div>`,
    table(heads, rows, 1),
    sources([file]),
  ].join("\n");
}

export async function staleSection(stale: readonly Sourced<StaleInput>[]): Promise<Section> {
  const blocks: string[] = [
    '<p class="note">The cached state sees the history only up to the cut-off; the context is the real event just before the target (never the target); all figures of a setting are on the same users. Fresh = the baseline model on the full history (the upper reference).</p>',
  ];
  if (stale.length === 0) blocks.push(notRunYet(STALE_COMMAND, "no stale-*.json found"));
  for (let i = 0; i < stale.length; i++) blocks.push(await fileBlock(stale[i], i));
  return {
    id: "staleness",
    title: "Context under a stale cached state",
    present: stale.length > 0,
    html: blocks.join("\n"),
  };
}
