/**
 * Small, realistic result files of every kind the report reads, written into a folder: the inputs
 * of the report tests and of the docs/report.png screenshot. The figures are ILLUSTRATIVE (shaped
 * like real runs, of plausible size), not measurements; a report rendered from them says so in its
 * title when the caller passes one.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { writeJsonAtomic } from "../core/atomicFile.ts";
import type { AblationRow, AblationsFile, InputKind } from "./inputs.ts";

/** hit@K / ndcg@K / mrr around a HIT@10 level (ratios of a typical Beauty run). */
function looMetrics(hit10: number): Record<string, number> {
  const r = (x: number) => Math.round(x * 10_000) / 10_000;
  return {
    "hit@5": r(hit10 * 0.71),
    "hit@10": r(hit10),
    "hit@20": r(hit10 * 1.4),
    "ndcg@5": r(hit10 * 0.51),
    "ndcg@10": r(hit10 * 0.6),
    "ndcg@20": r(hit10 * 0.7),
    mrr: r(hit10 * 0.55),
  };
}

const FIGURE_SCALE = { baseline: 0.78, contextual: 0.95, contextualNoContext: 0.74, fresh: 1 } as const;

/** One stale-context setting: the fresh level, figures scaled down by staleness `s` ∈ [0, 1]. */
function staleSetting(name: string, kind: "cutoff" | "drop-last", x: number, s: number, fresh10: number) {
  const metrics = Object.fromEntries(
    Object.entries(FIGURE_SCALE).map(([fig, scale]) => {
      const level = fig === "fresh" ? fresh10 : fresh10 * (1 - (1 - scale) * s * 1.6);
      return [fig, { "hit@10": +level.toFixed(4), "ndcg@10": +(level * 0.58).toFixed(4) }];
    }),
  );
  const gain = (m: "hit@10" | "ndcg@10") => {
    const mean = metrics.contextual[m] - metrics.baseline[m];
    const half = 0.35 * Math.abs(mean) + 0.004;
    return { mean, ci95: [mean - half, mean + half] };
  };
  return {
    setting: name,
    kind,
    ...(kind === "cutoff" ? { cutoffSeconds: x } : { dropLast: x }),
    users: Math.round(900 - 300 * s),
    candidates: 943,
    excluded: { contextInState: Math.round(300 * s), emptyState: 12 },
    contextWithoutCategories: 0,
    meanStateEvents: 90 - 20 * s,
    meanUnseenEvents: 1 + 6 * s,
    metrics,
    gains: {
      contextualVsBaseline: { "hit@10": gain("hit@10"), "ndcg@10": gain("ndcg@10") },
      contextVsNoContext: { "hit@10": gain("hit@10"), "ndcg@10": gain("ndcg@10") },
    },
  };
}

/** A mean with a 95% band of half-width `half` over `n` seeds. */
const iv = (mean: number, half: number, n = 3) => ({
  mean,
  low: mean - half,
  high: mean + half,
  n,
  values: [mean - half / 2, mean, mean + half / 2],
});

/** Funnel metrics per CG at context strength r (contextual gains grow with r). */
function funnelAt(r: number, k: number): Record<string, Record<string, number>> {
  const row = (recall: number, rel: number, imp: number, del: number) => ({
    [`recall@${k}`]: recall,
    relevance_median: rel,
    survival_impression_share: imp,
    survival_delivered_share: del,
  });
  return {
    random: row(0.01, 0.05, 0.02, 0.01),
    popularity: row(0.05, 0.12, 0.18, 0.08),
    "context-only": row(0.04 + 0.08 * r, 0.55, 0.12 + 0.05 * r, 0.07 + 0.04 * r),
    oracle: row(0.5, 0.6, 0.3, 0.2),
    ctxrec: row(0.12 + 0.18 * r, 0.2 + 0.45 * r, 0.2 + 0.1 * r, 0.1 + 0.09 * r),
    "ctxrec-baseline": row(0.12 - 0.02 * r, 0.18, 0.2 - 0.04 * r, 0.1 - 0.02 * r),
  };
}

function sweepDoc() {
  const rs = [0, 0.25, 0.5, 0.75, 1];
  const k = 100;
  const surfaces = ["related", "search"];
  const cgs = Object.keys(funnelAt(0, k));
  const summary: Record<string, Record<string, Record<string, Record<string, ReturnType<typeof iv>>>>> = {};
  const lift: Record<string, Record<string, Record<string, ReturnType<typeof iv>>>> = {};
  for (const s of surfaces) {
    summary[s] = {};
    lift[s] = {};
    for (const r of rs) {
      const m = funnelAt(r, k);
      const damp = s === "search" ? 0.8 : 1;
      summary[s][String(r)] = Object.fromEntries(
        cgs.map((cg) => [
          cg,
          Object.fromEntries(Object.entries(m[cg]).map(([key, v]) => [key, iv(v * damp, 0.02 + 0.1 * v)])),
        ]),
      );
      const c = m.ctxrec;
      const b = m["ctxrec-baseline"];
      lift[s][String(r)] = {
        recall_ratio: iv(c[`recall@${k}`] / b[`recall@${k}`], 0.3),
        relevance_lift_pct: iv((c.relevance_median / b.relevance_median - 1) * 100, 25),
        delivered_ratio: iv(c.survival_delivered_share / b.survival_delivered_share, 0.2),
      };
    }
  }
  return {
    protocol: "funnel-sweep",
    preset: "tiny",
    rs,
    seeds: [1, 2, 3],
    k,
    slots: 10,
    noise: 0.1,
    surfaces,
    cgs,
    runs: [],
    summary,
    lift,
    seconds: 1234,
  };
}

function ablationsDoc(): AblationsFile {
  const groups: [string, string[], number[]][] = [
    ["context dropout", ["0", "0.3", "0.5 (default)", "0.8"], [-0.004, -0.001, 0, -0.006]],
    ["projection", ["mean (default)", "sum", "attention", "learned"], [0, -0.003, 0.002, 0.001]],
    ["corruption", ["on (default)", "off"], [0, -0.005]],
    ["whole-context dropout", ["0", "0.1 (default)", "0.3"], [-0.002, 0, -0.001]],
    ["fusion", ["concat (default)", "cross-attention"], [0, 0.0015]],
    ["staleness", ["1h", "24h (default)", "7d"], [0.006, 0, -0.009]],
  ];
  const rows: AblationRow[] = [];
  for (const [group, variants, deltas] of groups) {
    variants.forEach((variant, i) => {
      const value = 0.052 + deltas[i];
      const isDefault = variant.includes("(default)");
      rows.push({
        group,
        variant,
        metric: "stale/ndcg@10",
        value,
        low: value - 0.004,
        high: value + 0.004,
        ...(isDefault ? {} : { delta: deltas[i], deltaLow: deltas[i] - 0.003, deltaHigh: deltas[i] + 0.003 }),
      });
    });
  }
  return {
    bench: "ablations",
    preset: "small",
    seeds: [1, 2, 3],
    minutesPerRun: 5,
    resamples: 1000,
    staleCutoffSeconds: 86_400,
    machine: { cpus: 2, loadAverage: [1.9, 1.8, 1.7] },
    createdAt: "2026-01-01T00:00:00.000Z",
    rows,
  };
}

function serveDoc() {
  const http = (store: string, rate: number | "max", p50: number, p99: number, p999: number) => ({
    store,
    rate,
    connections: rate === "max" ? 32 : 0,
    throughput: rate === "max" ? 1180 : rate,
    p50Ms: p50,
    p99Ms: p99,
    p999Ms: p999,
    p99FromScheduleMs: rate === "max" ? null : p99 * 1.1,
    errors: 0,
  });
  return {
    date: "2026-01-01T00:00:00.000Z",
    machine: {
      cpus: 2,
      model: "Intel(R) Xeon(R) Processor",
      loadavgStart: [0.5, 0.4, 0.3],
      loadavgEnd: [1.9, 1.2, 0.8],
    },
    args: { quick: false, n: 1_000_000, k: 10, d: 64 },
    modelVersion: "0123456789abcdef",
    onlineTower: { p50Us: 38.2, p99Us: 95.1, runs: 20000 },
    ann: [
      { n: 100_000, ef: 32, recallAt10: 0.966, p50Us: 92.4, p99Us: 310.2 },
      { n: 1_000_000, ef: 32, recallAt10: 0.958, p50Us: 151.3, p99Us: 455.0, buildSeconds: 688.8 },
    ],
    http: [
      http("file", 250, 1.3, 3.1, 6.2),
      http("file", 500, 1.4, 4.0, 9.5),
      http("file", 1000, 1.9, 8.7, 21.4),
      http("file", "max", 24.1, 70.2, 108.0),
      http("redis", 250, 1.5, 3.6, 7.9),
      http("redis", 500, 1.7, 5.2, 12.0),
      http("redis", 1000, 2.6, 12.9, 30.3),
      http("redis", "max", 25.0, 74.8, 112.3),
    ],
  };
}

/** The documents, by the file name they are written under (relative to the runs folder). */
export function fixtureDocuments(): { kind: InputKind; file: string; doc: unknown }[] {
  const loo = (model: string, hit10: number, dataset = "s3rec:Beauty.txt") => ({
    protocol: "loo",
    target: "test",
    dataset,
    model,
    metrics: looMetrics(hit10),
    metricsUnfiltered: looMetrics(hit10 * 0.93),
    users: dataset.includes("Beauty") ? 22_363 : 943,
    targetsInHistory: 0,
  });
  /** A stale-context document whose headline figure is `settings[primary]`. */
  const stale = (dataset: string, settings: ReturnType<typeof staleSetting>[], primary: number) => ({
    protocol: "stale-context",
    dataset,
    models: { baseline: "ctxrec-baseline@9d03f1e2a4c8", contextual: "ctxrec@4b1e0c9a77d2" },
    users: settings[primary].users,
    metrics: settings[primary].metrics,
    settings,
  });
  return [
    { kind: "loo", file: "loo-beauty-contextual.json", doc: loo("ctxrec@4b1e0c9a77d2", 0.0731) },
    { kind: "loo", file: "loo-beauty-baseline.json", doc: loo("ctxrec-baseline@9d03f1e2a4c8", 0.0712) },
    {
      kind: "loo",
      file: "eval/loo-ml100k-popularity.json",
      doc: loo("popularity", 0.0583, "movielens-100k:ml-100k"),
    },
    {
      kind: "quality",
      file: "bench/quality.json",
      doc: {
        protocol: "loo (test targets, filtered full ranking)",
        rows: [
          {
            dataset: "ml-100k",
            variant: "baseline",
            metrics: looMetrics(0.161),
            validationNdcg10: 0.08,
            epochs: 15,
            bestEpoch: 14,
            stopReason: "time-budget",
            trainMinutes: 8.1,
          },
          {
            dataset: "ml-100k",
            variant: "context",
            metrics: looMetrics(0.158),
            validationNdcg10: 0.078,
            epochs: 14,
            bestEpoch: 14,
            stopReason: "time-budget",
            trainMinutes: 8.0,
          },
        ],
      },
    },
    {
      kind: "stale",
      file: "stale-ml100k.json",
      doc: stale(
        "movielens-100k:ml-100k",
        [
          staleSetting("cutoff 1h", "cutoff", 3600, 0.25, 0.16),
          staleSetting("cutoff 24h", "cutoff", 86_400, 0.5, 0.16),
          staleSetting("cutoff 7d", "cutoff", 604_800, 0.8, 0.16),
          staleSetting("cutoff 30d", "cutoff", 2_592_000, 1, 0.16),
        ],
        1,
      ),
    },
    {
      kind: "stale",
      file: "stale-beauty.json",
      doc: stale(
        "s3rec:Beauty.txt",
        [1, 2, 4].map((n) => staleSetting(`drop-last ${n}`, "drop-last", n, n / 4, 0.072)),
        0,
      ),
    },
    { kind: "sweep", file: "sweep/sweep.json", doc: sweepDoc() },
    {
      kind: "funnel",
      file: "demo/funnel.json",
      doc: {
        protocol: "funnel",
        world: "demo/world",
        k: 100,
        slots: 10,
        noise: 0.1,
        seed: 7,
        surfaces: {
          related: {
            requests: 2000,
            impressions: 20000,
            metrics: funnelAt(0.6, 100),
            lift: { recall_ratio: 2.4, relevance_lift_pct: 161, delivered_ratio: 1.9 },
          },
        },
      },
    },
    { kind: "ablations", file: "bench/ablations.json", doc: ablationsDoc() },
    { kind: "serve", file: "bench/serve.json", doc: serveDoc() },
  ];
}

/** Writes the fixture documents into `dir` (all kinds, or all but `omit`); returns the files written. */
export function writeReportFixtures(dir: string, omit: readonly InputKind[] = []): string[] {
  const out: string[] = [];
  for (const { kind, file, doc } of fixtureDocuments()) {
    if (omit.includes(kind)) continue;
    const p = path.join(dir, file);
    mkdirSync(path.dirname(p), { recursive: true });
    writeJsonAtomic(p, doc);
    out.push(p);
  }
  return out;
}
