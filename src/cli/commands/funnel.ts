/**
 * `ctxrec funnel`: runs the funnel simulator with the four reference CGs on a synthetic world and
 * prints one row per CG (see docs/funnel-simulator.md). Options are parsed here into typed
 * arguments; the simulator validates their ranges.
 */
import type { Command } from "commander";
import { writeJsonAtomic } from "../../core/atomicFile.ts";
import { type ReferenceFunnelReport, runReferenceFunnel } from "../../funnel/referenceFunnel.ts";
import { formatFunnelTable, funnelMetricsJson } from "../../funnel/report.ts";
import { FUNNEL_DEFAULTS } from "../../funnel/simulator.ts";
import { readWorld } from "../../synth/read.ts";
import { formatCount, toNumber, toOptionalNumber } from "../numbers.ts";
import { progressBar } from "../progress.ts";

interface FunnelOptions {
  world: string;
  k: string;
  slots: string;
  noise: string;
  seed: string;
  json?: string;
  contextWeight?: string;
  familySmoothing?: string;
  popularityExponent?: string;
}

export function registerFunnelCommand(program: Command): void {
  program
    .command("funnel")
    .description(
      "simulate the ranking funnel with the reference CGs (random, popularity, context-only, oracle)",
    )
    .requiredOption("--world <dir>", "world folder written by `ctxrec synth`")
    .option("--k <n>", "candidates per CG per request (K)", String(FUNNEL_DEFAULTS.k))
    .option("--slots <n>", "impression slots per request (S)", String(FUNNEL_DEFAULTS.slots))
    .option("--noise <x>", "ranker's log-normal estimation error σ", String(FUNNEL_DEFAULTS.noise))
    .option(
      "--seed <n>",
      "seed of the ranker noise and the CGs' random choices",
      String(FUNNEL_DEFAULTS.seed),
    )
    .option("--json <file>", "also write the per-CG metrics as JSON")
    .option("--context-weight <x>", "λ: weight of subject similarity in the utility (default: the world's r)")
    .option("--family-smoothing <x>", "β: share of interest spread over a category's family (default 0.25)")
    .option("--popularity-exponent <x>", "γ: exponent of the item-appeal factor (default 0.5; 0 = off)")
    .action(async (opts: FunnelOptions) => {
      const started = performance.now();
      const world = await readWorld(opts.world);
      const bar = progressBar("funnel", "requests");
      const report = await runReferenceFunnel(world, {
        k: toNumber(opts.k, "--k"),
        slots: toNumber(opts.slots, "--slots"),
        noise: toNumber(opts.noise, "--noise"),
        seed: toNumber(opts.seed, "--seed"),
        utility: {
          contextWeight: toOptionalNumber(opts.contextWeight, "--context-weight"),
          familySmoothing: toOptionalNumber(opts.familySmoothing, "--family-smoothing"),
          popularityExponent: toOptionalNumber(opts.popularityExponent, "--popularity-exponent"),
        },
        onProgress: (done, total) => bar.update(done, total),
      }).finally(() => bar.stop());
      const seconds = (performance.now() - started) / 1000;
      process.stdout.write(formatFunnelSummary(report, opts.world, seconds));
      if (opts.json !== undefined) writeFunnelJson(report, opts.world, opts.json);
    });
}

/** The run's settings line followed by the per-CG table. */
export function formatFunnelSummary(report: ReferenceFunnelReport, world: string, seconds: number): string {
  return `funnel: ${formatFunnelSettings(report, world, seconds)}${formatFunnelTable(report)}\n`;
}

/** The run's settings: "WORLD: n requests, K, S, σ, seed, λ, β, γ; m impressions in t s" and a newline. */
export function formatFunnelSettings(report: ReferenceFunnelReport, world: string, seconds: number): string {
  const u = report.utility;
  return (
    `${world}: ${formatCount(report.requests)} requests, K ${report.k}, S ${report.slots}, ` +
    `σ ${report.noise}, seed ${report.seed}, λ ${u.contextWeight}, β ${u.familySmoothing}, γ ${u.popularityExponent}; ` +
    `${formatCount(report.impressions)} impressions in ${seconds.toFixed(1)} s\n`
  );
}

/** Writes the run's settings and per-CG metrics as JSON (atomically: temp file + rename). */
export function writeFunnelJson(report: ReferenceFunnelReport, world: string, file: string): void {
  const json = {
    world,
    k: report.k,
    slots: report.slots,
    noise: report.noise,
    seed: report.seed,
    utility: report.utility,
    requests: report.requests,
    impressions: report.impressions,
    metrics: funnelMetricsJson(report),
  };
  writeJsonAtomic(file, json);
}
