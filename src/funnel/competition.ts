/**
 * The funnel with competing pools (issue #14 part 4): several trained CGs, and only they, feed
 * one ranker + auction; their pools are merged before ranking (`pools.ts`) and each CG is
 * reported by what it adds against the others. The original system's contextual CG competes with
 * sibling CGs in its L1/L2 funnel, so its gains are bounded by what they already retrieve: its
 * "2× more candidates delivered" is a share of delivered impressions against competitors.
 *
 * Per CG (JSON keys of `competitionMetricsJson`, K the run's):
 *   candidates                  candidates returned, summed over requests (≤ K · requests)
 *   candidates_exclusive        those that no other CG returned for the same request
 *   survival_to_impression      shown candidates / candidates (= survival_delivered_share of a funnel run)
 *   delivered                   impressions whose item the CG returned (full credit to each retriever)
 *   delivered_exclusive         impressions whose item only the CG returned
 *   delivered_share             Σ 1/m over its impressions / all impressions, m the item's retrievers
 *                               (= survival_impression_share); sums to 1 over the CGs
 *   delivered_share_exclusive   delivered_exclusive / all impressions; Σ over CGs = 1 − shared share
 *   recall@K                    share of requests whose target the CG's own pool holds
 *   marginal_recall@K           recall(all pools) − recall(all pools but this CG) ≤ recall@K
 * Per surface: `pool` = {candidates: merged-pool items summed over requests, recall@K: the union's}.
 */
import type { CompiledDataset } from "../data/dataset.ts";
import { readWorldEvents } from "../synth/read.ts";
import type { World } from "../synth/types.ts";
import type { ModelFunnelArgs } from "./modelFunnel.ts";
import { type ModelCgSpec, modelCandidateGenerator } from "./modelGenerator.ts";
import { countEvents } from "./reference/popularity.ts";
import { type ReferenceFunnelReport, runWorldFunnel } from "./referenceFunnel.ts";
import { funnelRunSettings, textTable } from "./report.ts";
import type { FunnelReport } from "./simulator.ts";
import { defaultSurfaces, type Surface } from "./surface.ts";

/**
 * Runs the funnel on `world` with exactly the CGs of `cgs` (no reference CGs: an oracle among the
 * competitors would take the impressions), per surface. `ds` is the world's compiled logs.
 */
export async function runCompetitionFunnel(
  world: World,
  ds: CompiledDataset,
  cgs: readonly ModelCgSpec[],
  args: ModelFunnelArgs = {},
): Promise<Partial<Record<Surface, ReferenceFunnelReport>>> {
  const eventCounts = args.eventCounts ?? (await countEvents(readWorldEvents(world.dir)));
  const out: Partial<Record<Surface, ReferenceFunnelReport>> = {};
  for (const surface of args.surfaces ?? defaultSurfaces(world)) {
    out[surface] = await runWorldFunnel(world, { ...args, eventCounts, surface }, ({ cat }) =>
      cgs.map((m) => modelCandidateGenerator(m, ds, cat)),
    );
  }
  return out;
}

/** One CG's competition figures as written to JSON (null where a figure has no value). */
export type CompetitionCgJson = Record<string, number | null>;

const orNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** The per-CG keys of `competitionMetricsJson`, in its order (K the run's). */
export function competitionMetricKeys(k: number): string[] {
  return [
    "candidates",
    "candidates_exclusive",
    "survival_to_impression",
    "delivered",
    "delivered_exclusive",
    "delivered_share",
    "delivered_share_exclusive",
    `recall@${k}`,
    `marginal_recall@${k}`,
  ];
}

/** The per-CG competition figures of a report, keyed by CG name (definitions in the module comment). */
export function competitionMetricsJson(report: FunnelReport): Record<string, CompetitionCgJson> {
  const out: Record<string, CompetitionCgJson> = {};
  const perImpression = (x: number) => (report.impressions > 0 ? x / report.impressions : null);
  for (const m of report.metrics) {
    out[m.name] = {
      candidates: m.candidates,
      candidates_exclusive: m.exclusiveCandidates,
      survival_to_impression: orNull(m.deliveredShare),
      delivered: m.delivered,
      delivered_exclusive: m.exclusiveDelivered,
      delivered_share: orNull(m.impressionShare),
      delivered_share_exclusive: perImpression(m.exclusiveDelivered),
      [`recall@${report.k}`]: orNull(m.recallAtK),
      [`marginal_recall@${report.k}`]: orNull(m.marginalRecallAtK),
    };
  }
  return out;
}

/** One surface of a competition: its totals, the merged pool and the per-CG figures. */
export interface CompetitionSurfaceJson {
  requests: number;
  impressions: number;
  pool: Record<string, number | null>;
  metrics: Record<string, CompetitionCgJson>;
}

/** The surface's totals and figures (`competitionMetricsJson`). */
export function competitionSurfaceJson(report: FunnelReport): CompetitionSurfaceJson {
  return {
    requests: report.requests,
    impressions: report.impressions,
    pool: { candidates: report.pool.candidates, [`recall@${report.k}`]: orNull(report.pool.recallAtK) },
    metrics: competitionMetricsJson(report),
  };
}

/** What a competition document says about each CG's model folder. */
export interface CompetitorInfo {
  dir?: string;
  version?: string;
  contextual: boolean;
}

/**
 * The document `ctxrec eval --protocol funnel --cg …` (and the demo's competition.json) writes:
 * the run's settings (from the first surface), the competitors and the per-surface figures. Its
 * protocol is "funnel-competition", so `ctxrec report` does not take it for a funnel run.
 */
export function competitionDocument(
  reports: Partial<Record<Surface, ReferenceFunnelReport>>,
  world: string,
  cgs: Record<string, CompetitorInfo>,
) {
  const surfaces: Record<string, CompetitionSurfaceJson> = {};
  for (const [surface, report] of Object.entries(reports)) surfaces[surface] = competitionSurfaceJson(report);
  return {
    protocol: "funnel-competition" as const,
    world,
    ...funnelRunSettings(reports),
    cgs,
    surfaces,
  };
}

/** The readable table of one surface: one row per CG, then the merged pool's row. */
export function formatCompetitionTable(report: FunnelReport): string {
  const num = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : "—");
  const share = (x: number) => num(report.impressions > 0 ? x / report.impressions : Number.NaN);
  const rows = report.metrics.map((m) => [
    m.name,
    String(m.candidates),
    String(m.exclusiveCandidates),
    num(m.deliveredShare),
    num(m.impressionShare),
    share(m.exclusiveDelivered),
    num(m.recallAtK),
    num(m.marginalRecallAtK),
  ]);
  const pool = [
    "(merged pool)",
    String(report.pool.candidates),
    "",
    "",
    "",
    "",
    num(report.pool.recallAtK),
    "",
  ];
  return textTable(
    [
      "CG",
      "candidates",
      "exclusive",
      "survival",
      "delivered share",
      "exclusive share",
      `recall@${report.k}`,
      `marginal recall@${report.k}`,
    ],
    [...rows, pool],
  );
}
