/**
 * Summaries of a funnel sweep: per surface, per r, per CG, each headline metric as a mean with a
 * 95% t interval over the seeds (`interval.ts`), the contextual/baseline lift the same way, and the
 * readable table `ctxrec funnel-sweep` prints.
 */
import { type Interval, meanInterval } from "./interval.ts";
import { LIFT_KEYS, MODEL_CG, type ModelLift } from "./modelFunnel.ts";
import { textTable } from "./report.ts";
import type { Surface } from "./surface.ts";
import type { SweepRun } from "./sweep.ts";

/** The metric keys summarised per CG (the four). */
export function sweepMetricKeys(k: number): string[] {
  return [
    `recall@${k}`,
    "relevance_median",
    "relevance_mean",
    "survival_impression_share",
    "survival_delivered_share",
  ];
}

/** `String(r)` keys ("0", "0.25", "1"): how r values name their entries in the JSON. */
export const rKey = (r: number): string => String(r);

/** The sweep's grid: r values × seeds, per surface, the CGs summarised and the recall K. */
export interface SweepGrid {
  rs: readonly number[];
  seeds: readonly number[];
  surfaces: readonly Surface[];
  cgs: readonly string[];
  k: number;
}

export interface SweepSummary {
  /** summary[surface][r][cg][metric]. */
  summary: Record<string, Record<string, Record<string, Record<string, Interval>>>>;
  /** lift[surface][r][recall_ratio | relevance_lift_pct | relevance_mean_lift_pct | delivered_ratio]. */
  lift: Record<string, Record<string, Record<keyof ModelLift, Interval>>>;
}

/** Per-CG metric tables of one (surface, r), one per seed (undefined: the run is missing). */
export type PerSeedMetrics = readonly (
  | Readonly<Record<string, Readonly<Record<string, number | null>>>>
  | undefined
)[];

/**
 * `[cg][key]` → mean and 95% t interval over the seeds of `perSeed[seed][cg][key]`; a CG or key a
 * seed lacks counts as missing for that seed (null in `values`).
 */
export function summarizeBySeed(
  perSeed: PerSeedMetrics,
  cgs: readonly string[],
  keys: readonly string[],
): Record<string, Record<string, Interval>> {
  const byCg: Record<string, Record<string, Interval>> = {};
  for (const cg of cgs) {
    byCg[cg] = {};
    for (const key of keys) byCg[cg][key] = meanInterval(perSeed.map((x) => x?.[cg]?.[key] ?? null));
  }
  return byCg;
}

/** Summarises the runs; every (surface, r, CG, metric) gets an entry, null-valued where no run had it. */
export function summarizeSweep(runs: readonly SweepRun[], grid: SweepGrid): SweepSummary {
  const summary: SweepSummary["summary"] = {};
  const lift: SweepSummary["lift"] = {};
  const find = (seed: number, r: number) => runs.find((x) => x.seed === seed && x.r === r);
  for (const s of grid.surfaces) {
    summary[s] = {};
    lift[s] = {};
    for (const r of grid.rs) {
      const perSeed = grid.seeds.map((seed) => find(seed, r)?.surfaces[s]);
      summary[s][rKey(r)] = summarizeBySeed(
        perSeed.map((x) => x?.metrics),
        grid.cgs,
        sweepMetricKeys(grid.k),
      );
      const l = {} as Record<keyof ModelLift, Interval>;
      for (const key of LIFT_KEYS) l[key] = meanInterval(perSeed.map((x) => x?.lift[key] ?? null));
      lift[s][rKey(r)] = l;
    }
  }
  return { summary, lift };
}

const fmt = (x: number | null, digits = 4) => (x === null ? "—" : x.toFixed(digits));
/** "0.1234 [0.1000, 0.1500]" (the interval only with ≥ 2 seeds). */
export function cell(iv: Interval | undefined, digits = 4): string {
  if (iv === undefined || iv.mean === null) return "—";
  return iv.low === null
    ? fmt(iv.mean, digits)
    : `${fmt(iv.mean, digits)} [${fmt(iv.low, digits)}, ${fmt(iv.high, digits)}]`;
}

/** The readable sweep report: one table per (surface, r), then the lift table per surface. */
export function formatSweepTables(s: SweepSummary, grid: SweepGrid): string {
  const keys = sweepMetricKeys(grid.k);
  const heads = [
    `recall@${grid.k}`,
    "relevance median",
    "relevance mean",
    "impression share",
    "delivered share",
  ];
  const out: string[] = [
    `mean [95% t interval] over ${grid.seeds.length} seed(s) (${grid.seeds.join(", ")})`,
  ];
  for (const surface of grid.surfaces) {
    for (const r of grid.rs) {
      const byCg = s.summary[surface]?.[rKey(r)] ?? {};
      out.push(`\n${surface}, r = ${r}`);
      out.push(
        textTable(
          ["CG", ...heads],
          grid.cgs.map((cg) => [cg, ...keys.map((k) => cell(byCg[cg]?.[k]))]),
        ),
      );
    }
    out.push(`\n${surface}: ${MODEL_CG.contextual} over ${MODEL_CG.baseline}`);
    out.push(
      textTable(
        ["r", "recall ratio", "relevance lift % (median)", "relevance lift % (mean)", "delivered ratio"],
        grid.rs.map((r) => {
          const l = s.lift[surface]?.[rKey(r)];
          return [
            String(r),
            cell(l?.recall_ratio, 3),
            cell(l?.relevance_lift_pct, 1),
            cell(l?.relevance_mean_lift_pct, 1),
            cell(l?.delivered_ratio, 3),
          ];
        }),
      ),
    );
  }
  return `${out.join("\n")}\n`;
}
