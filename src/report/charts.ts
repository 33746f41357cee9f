/**
 * The report's charts: Vega-Lite specs built from plain rows, rendered to SVG in Node by Vega
 * (`renderer: "none"`, so no canvas or browser is needed). The SVG is inlined in the page; it
 * references nothing outside itself (no fonts, images or scripts).
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

const WIDTH = 330;
const HEIGHT = 190;

/** Shared look: no external font, quiet grid. */
const CONFIG = {
  font: "system-ui, sans-serif",
  view: { stroke: "#d0d7de" },
  axis: { labelFontSize: 10, titleFontSize: 11, gridColor: "#eef0f2" },
  // limit 0 = never truncate: Vega's text-width estimate without a canvas runs wide and would cut
  // short labels that fit.
  // Solid legend symbols even where the band layer (faint) shares the colour scale.
  legend: { labelFontSize: 10, titleFontSize: 11, labelLimit: 0, symbolOpacity: 1 },
  title: { fontSize: 12, anchor: "start" as const, limit: 0 },
};

/** Renders a Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** One point of a curve with an optional 95% band. */
export interface CurvePoint {
  x: number;
  /** The curve's name (legend entry). */
  series: string;
  y: number;
  low?: number | null;
  high?: number | null;
}

export interface CurveChartArgs {
  title: string;
  xTitle: string;
  yTitle: string;
  seriesTitle: string;
  points: readonly CurvePoint[];
  /** Log x axis (e.g. cut-off seconds spanning hours to days). Default linear. */
  xLog?: boolean;
  /** The x values to label (default: Vega's ticks). */
  xValues?: readonly number[];
  /** Labels for `xValues` ("1h", "24h"), by value. */
  xLabels?: Readonly<Record<string, string>>;
  /** Draw the zero line (for differences). */
  zeroRule?: boolean;
}

/**
 * Curves (line + points) per series over x, each with its interval band (an area from `low` to
 * `high`, where both are known).
 */
export function curveChart(a: CurveChartArgs): TopLevelSpec {
  const values = a.points.map((p) => ({ ...p, low: p.low ?? null, high: p.high ?? null }));
  // format() in an expression, unlike the axis `format`, does not round to the tick step (0.25
  // stays 0.25 rather than 0.3).
  const labelExpr =
    a.xLabels === undefined
      ? "format(datum.value, '~g')"
      : `${JSON.stringify(a.xLabels)}[datum.value + ''] || format(datum.value, '~g')`;
  const x = {
    field: "x",
    type: "quantitative" as const,
    title: a.xTitle,
    scale: a.xLog === true ? { type: "log" as const } : { zero: false },
    axis: { labelExpr, ...(a.xValues ? { values: [...a.xValues] } : {}) },
  };
  const color = { field: "series", type: "nominal" as const, title: a.seriesTitle };
  const layers: NonNullable<Extract<TopLevelSpec, { layer: unknown }>["layer"]> = [
    {
      transform: [{ filter: "isValid(datum.low) && isValid(datum.high)" }],
      mark: { type: "area", opacity: 0.18 },
      encoding: { x, y: { field: "low", type: "quantitative" }, y2: { field: "high" }, color },
    },
    {
      mark: { type: "line", point: true, strokeWidth: 1.8 },
      encoding: {
        x,
        y: { field: "y", type: "quantitative", title: a.yTitle, scale: { zero: false } },
        color,
        tooltip: [{ field: "series" }, { field: "x" }, { field: "y", format: ".4f" }],
      },
    },
  ];
  if (a.zeroRule === true) {
    layers.push({
      data: { values: [{ zero: 0 }] },
      mark: { type: "rule", color: "#888", strokeDash: [3, 3] },
      encoding: { y: { field: "zero", type: "quantitative" } },
    });
  }
  return {
    width: WIDTH,
    height: HEIGHT,
    title: a.title,
    config: CONFIG,
    data: { values },
    layer: layers,
  };
}

/** One serving stage: its p50–p99 range, and p99.9 where measured (all in milliseconds). */
export interface StageLatency {
  stage: string;
  p50: number;
  p99: number;
  p999?: number;
}

/** The latency envelope: per stage a bar from p50 to p99 (log ms) with p50, p99 and p99.9 marks. */
export function latencyEnvelopeChart(title: string, stages: readonly StageLatency[]): TopLevelSpec {
  const order = stages.map((s) => s.stage);
  const y = { field: "stage", type: "nominal" as const, sort: order, title: null, axis: { labelLimit: 260 } };
  const ms = (field: string) => ({
    field,
    type: "quantitative" as const,
    scale: { type: "log" as const },
    title: "latency (ms, log scale)",
  });
  const marks = stages.flatMap((s) => [
    { stage: s.stage, which: "p50", ms: s.p50 },
    { stage: s.stage, which: "p99", ms: s.p99 },
    ...(s.p999 === undefined ? [] : [{ stage: s.stage, which: "p99.9", ms: s.p999 }]),
  ]);
  return {
    width: 460,
    height: { step: 20 },
    title,
    config: CONFIG,
    layer: [
      {
        data: { values: stages.map((s) => ({ ...s })) },
        mark: { type: "bar", height: 9, color: "#9ecae9" },
        encoding: { y, x: ms("p50"), x2: { field: "p99" } },
      },
      {
        data: { values: marks },
        mark: { type: "point", filled: true, size: 42 },
        encoding: {
          y,
          x: ms("ms"),
          shape: { field: "which", type: "nominal", title: "percentile", sort: ["p50", "p99", "p99.9"] },
          color: {
            field: "which",
            type: "nominal",
            title: "percentile",
            sort: ["p50", "p99", "p99.9"],
            scale: { range: ["#1f77b4", "#d62728", "#7f3c8d"] },
          },
        },
      },
    ],
  } as TopLevelSpec;
}

/** HTTP latency percentiles against the offered rate, one colour per store, one dash per percentile. */
export function httpRateChart(
  title: string,
  rows: readonly { store: string; rate: number; percentile: string; ms: number }[],
): TopLevelSpec {
  return {
    width: WIDTH,
    height: HEIGHT,
    title,
    config: CONFIG,
    data: { values: rows.map((r) => ({ ...r })) },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "rate", type: "quantitative", title: "offered load (req/s)" },
      y: { field: "ms", type: "quantitative", scale: { type: "log" }, title: "latency (ms, log scale)" },
      color: { field: "store", type: "nominal", title: "store" },
      strokeDash: {
        field: "percentile",
        type: "nominal",
        title: "percentile",
        sort: ["p50", "p99", "p99.9"],
      },
    },
  };
}

/** Ablation deltas: one point per (group, variant) with its interval, colour per metric. */
export function deltaChart(
  title: string,
  rows: readonly { label: string; metric: string; delta: number; low: number | null; high: number | null }[],
): TopLevelSpec {
  const y = { field: "label", type: "nominal" as const, title: null, sort: null, axis: { labelLimit: 260 } };
  const color = { field: "metric", type: "nominal" as const, title: "metric" };
  return {
    width: 360,
    height: { step: 16 },
    title,
    config: CONFIG,
    data: { values: rows.map((r) => ({ ...r })) },
    layer: [
      {
        transform: [{ filter: "isValid(datum.low) && isValid(datum.high)" }],
        mark: { type: "rule" },
        encoding: { y, x: { field: "low", type: "quantitative" }, x2: { field: "high" }, color },
      },
      {
        mark: { type: "point", filled: true },
        encoding: {
          y,
          x: { field: "delta", type: "quantitative", title: "Δ vs the group's default" },
          color,
        },
      },
      {
        data: { values: [{ zero: 0 }] },
        mark: { type: "rule", color: "#888", strokeDash: [3, 3] },
        encoding: { x: { field: "zero", type: "quantitative" } },
      },
    ],
  } as TopLevelSpec;
}

/** Horizontal bars, one per label (e.g. a metric per CG of one funnel run). */
export function barChart(
  title: string,
  xTitle: string,
  rows: readonly { label: string; value: number }[],
): TopLevelSpec {
  return {
    width: 220,
    height: { step: 16 },
    title,
    config: CONFIG,
    data: { values: rows.map((r) => ({ ...r })) },
    mark: { type: "bar", color: "#4c78a8" },
    encoding: {
      y: { field: "label", type: "nominal", sort: null, title: null },
      x: { field: "value", type: "quantitative", title: xTitle },
    },
  };
}
