/**
 * The serving section: the latency envelope per stage from `npm run bench:serve` (the online tower
 * alone, the ANN search per index size, HTTP end to end per store and offered rate), HTTP
 * percentiles against load, and the tables behind them.
 */
import { httpRateChart, latencyEnvelopeChart, renderSvg, type StageLatency } from "../charts.ts";
import type { Sourced } from "../discover.ts";
import { esc, figure, notRunYet, num, type Section, sources, table } from "../html.ts";
import type { ServeInput } from "../inputs.ts";

export const SERVE_COMMAND = "npm run bench:serve";

/** Stages in request order, in milliseconds: tower, ANN (per n, ef), HTTP (per store, fixed rate). */
export function serveStages(s: ServeInput): StageLatency[] {
  const out: StageLatency[] = [];
  if (s.onlineTower !== undefined) {
    out.push({
      stage: "online tower (ORT, batch 1)",
      p50: s.onlineTower.p50Us / 1000,
      p99: s.onlineTower.p99Us / 1000,
    });
  }
  for (const a of s.ann) {
    out.push({
      stage: `ANN ${a.n.toLocaleString("en-US")} items, ef ${a.ef}`,
      p50: a.p50Us / 1000,
      p99: a.p99Us / 1000,
    });
  }
  for (const h of s.http) {
    out.push({
      stage: `HTTP ${h.store} store, ${h.rate === "max" ? "unthrottled" : `${h.rate} req/s`}`,
      p50: h.p50Ms,
      p99: h.p99Ms,
      p999: h.p999Ms,
    });
  }
  // A log axis cannot show 0: clamp to a microsecond (below anything measured).
  return out.map((x) => ({
    ...x,
    p50: Math.max(x.p50, 1e-3),
    p99: Math.max(x.p99, 1e-3),
    ...(x.p999 === undefined ? {} : { p999: Math.max(x.p999, 1e-3) }),
  }));
}

async function fileBlock({ file, data }: Sourced<ServeInput>, index: number): Promise<string> {
  const parts: string[] = [];
  const m = data.machine;
  const meta = [
    data.date,
    m?.cpus !== undefined ? `${m.cpus} CPUs${m.model ? ` (${m.model})` : ""}` : undefined,
    m?.loadavgEnd ? `load average at end ${m.loadavgEnd.map((x) => x.toFixed(2)).join(" / ")}` : undefined,
  ].filter((x): x is string => x !== undefined);
  if (meta.length > 0) parts.push(`<p class="note">${esc(meta.join(" · "))}</p>`);
  const charts: string[] = [];
  const stages = serveStages(data);
  if (stages.length > 0) {
    const svg = await renderSvg(latencyEnvelopeChart("latency envelope per serving stage", stages));
    charts.push(
      figure(
        `serve-${index}-envelope`,
        svg,
        "bar: p50 to p99; marks: p50, p99, p99.9 (HTTP only). The store lookup is inside HTTP end to end.",
      ),
    );
  }
  const fixed = data.http.filter((h): h is typeof h & { rate: number } => h.rate !== "max");
  if (fixed.length > 0) {
    const rows = fixed.flatMap((h) => [
      { store: h.store, rate: h.rate, percentile: "p50", ms: h.p50Ms },
      { store: h.store, rate: h.rate, percentile: "p99", ms: h.p99Ms },
      { store: h.store, rate: h.rate, percentile: "p99.9", ms: h.p999Ms },
    ]);
    const svg = await renderSvg(httpRateChart("HTTP latency vs offered load", rows));
    charts.push(figure(`serve-${index}-http`, svg, "POST /v1/candidates on loopback, open-loop fixed rates"));
  }
  parts.push(`<div class="charts">${charts.join("\n")}</div>`);
  if (data.onlineTower !== undefined || data.ann.length > 0) {
    const rows = [
      ...(data.onlineTower === undefined
        ? []
        : [["online tower", "—", num(data.onlineTower.p50Us, 1), num(data.onlineTower.p99Us, 1)]]),
      ...data.ann.map((a) => [
        `ANN ${a.n.toLocaleString("en-US")} items, ef ${a.ef}`,
        num(a.recallAt10, 3),
        num(a.p50Us, 1),
        num(a.p99Us, 1),
      ]),
    ];
    parts.push(table(["stage", "recall@10", "p50 µs", "p99 µs"], rows, 1));
  }
  if (data.http.length > 0) {
    const rows = data.http.map((h) => [
      h.store,
      String(h.rate),
      String(h.throughput),
      num(h.p50Ms, 2),
      num(h.p99Ms, 2),
      num(h.p999Ms, 2),
      num(h.p99FromScheduleMs, 2),
      h.errors === undefined ? "—" : String(h.errors),
    ]);
    parts.push(
      table(
        [
          "store",
          "offered req/s",
          "served req/s",
          "p50 ms",
          "p99 ms",
          "p99.9 ms",
          "p99 from schedule ms",
          "errors",
        ],
        rows,
        1,
      ),
    );
  }
  parts.push(sources([file]));
  return parts.join("\n");
}

export async function serveSection(files: readonly Sourced<ServeInput>[]): Promise<Section> {
  const blocks: string[] = [];
  if (files.length === 0) blocks.push(notRunYet(SERVE_COMMAND, "no serve*.json found"));
  for (let i = 0; i < files.length; i++) {
    if (files.length > 1) blocks.push(`<h3>${esc(files[i].file)}</h3>`);
    blocks.push(await fileBlock(files[i], i));
  }
  return {
    id: "serving",
    title: "Serving latency envelope",
    present: files.length > 0,
    html: blocks.join("\n"),
  };
}
