/**
 * The one-command demo (`ctxrec demo`, issue #6): the whole pipeline on the embedded defaults, in
 * process. Synthetic world → train the contextual model and the baseline (ONNX exports) → encode
 * every user into the embedded feature store → build the HNSW item index → evaluate (`loo` for both
 * models, `stale-context` on the world's real timestamps, the funnel with both models as CGs) →
 * with competitors (`DemoArgs.competitors`, `--cg`) the contextual model against them in a
 * competition funnel (src/funnel/competition.ts: the Shopping CG of issue #14 part 3 goes here once
 * it exists) → the HTML report over those results (src/report) → `demo.json` with the stage
 * timings and where everything is, and the `ctxrec serve` command.
 *
 * Safe re-runs: everything is written into a staging folder beside `outDir` and swapped in at the
 * end (the old folder is removed only after the new one is complete); an existing `outDir` that is
 * not an earlier demo's output (no `demo.json`) is refused rather than replaced.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../core/atomicFile.ts";
import { CtxrecError, requireArg } from "../core/errors.ts";
import { loadDataset } from "../data/load.ts";
import { initEngine } from "../engine/backend.ts";
import type { StaleSetting } from "../eval/staleContext.ts";
import {
  type CgFolder,
  checkCgNames,
  disposeCgs,
  type LoadedCg,
  loadCgs,
  requireModelFolder,
} from "../funnel/competitors.ts";
import { MODEL_CG, type ModelPair } from "../funnel/modelFunnel.ts";
import { type CtxrecModel, disposeModel } from "../model/model.ts";
import { loadRunInputs } from "../report/discover.ts";
import { buildReport } from "../report/report.ts";
import { generateWorld } from "../synth/generate.ts";
import { readWorld } from "../synth/read.ts";
import { writeAtomically } from "../synth/writer.ts";
import {
  evaluateCompetition,
  evaluateFunnelPair,
  evaluateLooPair,
  evaluateStalePair,
} from "./evaluateStages.ts";
import { buildIndexFile, encodeToStore } from "./offlineStages.ts";
import { createStageRunner, type StageHooks, type StageTiming } from "./stages.ts";
import { describeTraining, type TrainedModel, trainModel } from "./trainModel.ts";

/** Arguments of `runDemo`. */
export interface DemoArgs {
  /** Folder for everything the demo writes (replaced if it is an earlier demo's output). */
  outDir: string;
  /** Seed of the world, the training runs and the funnel. Default 1. */
  seed?: number;
  /** The small first look: tiny world, short budgets (< 3 minutes). Default false. */
  quick?: boolean;
  /** Training budget per model in minutes (default: DEMO_BUDGETS of the mode). */
  maxMinutes?: number;
  /** Maximum epochs per model (default 200: the budget ends training). */
  epochs?: number;
  /**
   * Trained CGs (model folders trained on this demo's world: same preset and seed) to compete
   * against the contextual model in an extra stage, "eval competition", written to
   * competition.json. The Shopping CG (issue #14 part 3) is meant to be one of them. Default none.
   */
  competitors?: readonly CgFolder[];
}

/**
 * Per mode: world preset, minutes per model, and the staleness cut-offs (the first is the primary
 * figure). The full budgets keep the whole demo under 15 minutes on the 2-core machine with other
 * work running (measured: see README); the evaluation stages take the rest.
 */
export const DEMO_BUDGETS = {
  full: {
    preset: "small",
    contextualMinutes: 3,
    baselineMinutes: 2,
    staleSettings: [86_400, 7 * 86_400],
  },
  quick: { preset: "tiny", contextualMinutes: 0.5, baselineMinutes: 0.4, staleSettings: [86_400] },
} as const;

/** Files the demo leaves in `outDir`, relative to it. */
export const DEMO_FILES = {
  world: "world",
  contextualModel: "models/contextual",
  baselineModel: "models/baseline",
  store: "store.sqlite",
  index: "items.ctxidx",
  looContextual: "loo-contextual.json",
  looBaseline: "loo-baseline.json",
  stale: "stale-context.json",
  funnel: "funnel.json",
  report: "report.html",
  record: "demo.json",
} as const;

/** Written only when the demo runs competitors (`DemoArgs.competitors`). */
export const DEMO_COMPETITION_FILE = "competition.json";

/** The record written to `demo.json` (and returned). */
export interface DemoRecord {
  demo: "ctxrec";
  mode: "quick" | "full";
  preset: string;
  seed: number;
  /** Absolute folder of the results. */
  outDir: string;
  startedAt: string;
  seconds: number;
  stages: StageTiming[];
  /** Absolute path of each file of DEMO_FILES (the store as its `file:` URL). */
  files: Record<keyof typeof DEMO_FILES, string> & { competition?: string };
  models: Record<
    "contextual" | "baseline",
    { version: string; epochs: number; stopReason: string; trainMinutes: number }
  >;
  /** Headline figures: loo (no context), stale-context (primary cut-off) and funnel (Related-Items). */
  headline: Record<string, number | null>;
  /** The command that serves the result. */
  serveCommand: string;
}

/** Refuses to replace a folder that holds something other than an earlier demo's output. */
function checkOutDir(outDir: string): void {
  if (!existsSync(outDir)) return;
  if (!statSync(outDir).isDirectory()) {
    throw new CtxrecError("CTXREC_ERR_ARG", `${outDir} is a file; --out must name a folder`, {
      param: "--out",
    });
  }
  const entries = readdirSync(outDir);
  if (entries.length > 0 && !entries.includes(DEMO_FILES.record)) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `${outDir} exists and is not the output of an earlier demo (no ${DEMO_FILES.record}); choose another --out or remove it`,
      { param: "--out" },
    );
  }
}

const STAGES = 9;

/** Runs the demo (see the module comment) and returns what it wrote to `demo.json`. */
export async function runDemo(args: DemoArgs, hooks: StageHooks = {}): Promise<DemoRecord> {
  const mode = args.quick === true ? "quick" : "full";
  const budget = DEMO_BUDGETS[mode];
  const seed = args.seed ?? 1;
  requireArg(Number.isInteger(seed), "--seed", `expected an integer, got ${seed}`);
  if (args.maxMinutes !== undefined) {
    requireArg(args.maxMinutes > 0, "--max-minutes", `expected minutes > 0, got ${args.maxMinutes}`);
  }
  const outDir = path.resolve(args.outDir);
  checkOutDir(outDir);
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const final = Object.fromEntries(
    Object.entries(DEMO_FILES).map(([k, f]) => [k, path.join(outDir, f)]),
  ) as Record<keyof typeof DEMO_FILES, string>;
  final.store = `file:${final.store}`;
  const serveCommand = `npx ctxrec serve --model ${final.contextualModel} --index ${final.index} --store ${final.store} --port 8080`;

  const trained: CtxrecModel[] = [];
  const competitors = args.competitors ?? [];
  // Labels and folders first: a typo fails before the world is generated.
  checkCgNames(competitors, [MODEL_CG.contextual, MODEL_CG.baseline]);
  for (const c of competitors) requireModelFolder(c.dir, c.name);
  const rivals: LoadedCg[] = [];
  return writeAtomically(outDir, true, async (dir) => {
    const at = (k: keyof typeof DEMO_FILES) => path.join(dir, DEMO_FILES[k]);
    const stages = createStageRunner(STAGES + (competitors.length > 0 ? 1 : 0), hooks);

    await stages.run("world", "users", async (progress) => {
      const m = await generateWorld({
        preset: budget.preset,
        seed,
        outDir: at("world"),
        search: true,
        onProgress: progress,
      });
      return {
        value: m,
        summary: `${budget.preset} world, seed ${seed}: ${m.counts.users} users, ${m.counts.items} items, ${m.counts.events} events, ${m.counts.requests} requests`,
      };
    });
    const ds = await loadDataset({ format: "jsonl", path: at("world") });
    await initEngine();
    // Competitors are checked against the world now, before minutes of training.
    rivals.push(...(await loadCgs(competitors, ds, [MODEL_CG.contextual, MODEL_CG.baseline])));

    const trainOne = (contextual: boolean, minutes: number) =>
      stages.run(contextual ? "train contextual" : "train baseline", "s of budget", async (progress) => {
        const t = await trainModel(
          ds,
          at(contextual ? "contextualModel" : "baselineModel"),
          {
            contextual,
            train: {
              seed,
              maxMinutes: args.maxMinutes ?? minutes,
              ...(args.epochs !== undefined ? { epochs: args.epochs } : {}),
            },
          },
          progress,
        );
        return { value: t, summary: `${describeTraining(t)}, ONNX exported` };
      });
    const contextual: TrainedModel = await trainOne(true, budget.contextualMinutes);
    trained.push(contextual.model);
    const baseline: TrainedModel = await trainOne(false, budget.baselineMinutes);
    trained.push(baseline.model);
    const pair: ModelPair = {
      contextual: {
        model: contextual.model,
        contextK: contextual.args.pseudoContext.k,
        version: contextual.manifest.version,
      },
      baseline: { model: baseline.model, version: baseline.manifest.version },
    };

    await stages.run("encode users", "users", async (progress) => {
      const r = await encodeToStore(ds, at("contextualModel"), `file:${at("store")}`, progress);
      return {
        value: r,
        summary: `${r.encoded} users encoded in ${r.seconds.toFixed(1)} s (${Math.round(r.usersPerSecond)} users/s), version ${r.modelVersion.slice(0, 12)} active`,
      };
    });
    await stages.run("item index", "items", async (progress) => {
      const r = await buildIndexFile(ds, at("contextualModel"), at("index"), progress);
      const filtered =
        r.filteredRecall10 === undefined ? "" : `, ${r.filteredRecall10.toFixed(3)} with a country filter`;
      return {
        value: r,
        summary: `HNSW over ${r.items} items × d=${r.dim} in ${r.buildSeconds.toFixed(2)} s, recall@10 vs exact ${r.recall10.toFixed(3)}${filtered}`,
      };
    });

    const loo = await stages.run("eval loo", "users", async (progress) => {
      const r = await evaluateLooPair(
        ds,
        pair,
        { contextual: at("looContextual"), baseline: at("looBaseline") },
        progress,
      );
      const f = (x: number | undefined) => (x ?? Number.NaN).toFixed(4);
      return {
        value: r,
        summary: `NDCG@10 contextual (no context) ${f(r.contextual.metrics["ndcg@10"])}, baseline ${f(r.baseline.metrics["ndcg@10"])} over ${r.baseline.users} users`,
      };
    });
    const settings: StaleSetting[] = budget.staleSettings.map((seconds) => ({ kind: "cutoff", seconds }));
    const stale = await stages.run("eval stale-context", "user passes", async (progress) => {
      const r = await evaluateStalePair(ds, pair, settings, at("stale"), progress);
      const m = r.metrics;
      return {
        value: r,
        summary: `${r.settings[0].setting}, ${r.users} users: NDCG@10 baseline ${m.baseline["ndcg@10"].toFixed(4)}, contextual ${m.contextual["ndcg@10"].toFixed(4)}, fresh ${m.fresh["ndcg@10"].toFixed(4)}`,
      };
    });
    const funnel = await stages.run("eval funnel", "requests", async (progress) => {
      const world = await readWorld(at("world"));
      const r = await evaluateFunnelPair(world, ds, pair, seed, at("funnel"), progress, final.world);
      const lift = r.related?.lift;
      const f = (x: number | null | undefined, d: number) => (x == null ? "—" : x.toFixed(d));
      return {
        value: r,
        summary: `Related-Items: ctxrec over baseline recall ×${f(lift?.recall_ratio, 2)}, relevance median ${f(lift?.relevance_lift_pct, 0)}% / mean ${f(lift?.relevance_mean_lift_pct, 0)}%, delivered ×${f(lift?.delivered_ratio, 2)}`,
      };
    });

    const competition =
      competitors.length === 0
        ? undefined
        : await stages.run("eval competition", "requests", async (progress) => {
            const world = await readWorld(at("world"));
            const file = path.join(dir, DEMO_COMPETITION_FILE);
            const r = await evaluateCompetition(
              world,
              ds,
              pair.contextual,
              rivals,
              seed,
              file,
              progress,
              final.world,
            );
            const m = r.surfaces.related?.metrics ?? {};
            const f = (x: number | null | undefined) => (x == null ? "—" : x.toFixed(3));
            return {
              value: r,
              summary: `Related-Items, delivered share (marginal recall): ${Object.entries(m)
                .map(([cg, x]) => `${cg} ${f(x.delivered_share)} (${f(x[`marginal_recall@${r.k}`])})`)
                .join(", ")}`,
            };
          });

    await stages.run("report", "sections", async () => {
      // Built from the staging folder's results, but named after the folder they will live in.
      const built = await buildReport(loadRunInputs([dir]), { title: "ctxrec demo", runs: [outDir] });
      writeFileAtomic(at("report"), built.html);
      const present = built.sections.filter((x) => x.present).length;
      return {
        value: built,
        summary: `${present} of ${built.sections.length} sections with results, ${built.charts} charts`,
      };
    });

    const info = (t: TrainedModel) => ({
      version: t.manifest.version,
      epochs: t.result.epochs,
      stopReason: t.result.stopReason,
      trainMinutes: t.result.trainSeconds / 60,
    });
    const related = funnel.related;
    const record: DemoRecord = {
      demo: "ctxrec",
      mode,
      preset: budget.preset,
      seed,
      outDir,
      startedAt,
      seconds: (performance.now() - started) / 1000,
      stages: stages.timings,
      files: final,
      models: { contextual: info(contextual), baseline: info(baseline) },
      headline: {
        "loo/contextual/ndcg@10": loo.contextual.metrics["ndcg@10"],
        "loo/baseline/ndcg@10": loo.baseline.metrics["ndcg@10"],
        "stale/baseline/ndcg@10": stale.metrics.baseline["ndcg@10"],
        "stale/contextual/ndcg@10": stale.metrics.contextual["ndcg@10"],
        "stale/fresh/ndcg@10": stale.metrics.fresh["ndcg@10"],
        "funnel/related/recall_ratio": related?.lift.recall_ratio ?? null,
        "funnel/related/relevance_lift_pct": related?.lift.relevance_lift_pct ?? null,
        "funnel/related/relevance_mean_lift_pct": related?.lift.relevance_mean_lift_pct ?? null,
        "funnel/related/delivered_ratio": related?.lift.delivered_ratio ?? null,
      },
      serveCommand,
    };
    if (competition !== undefined) {
      record.files.competition = path.join(outDir, DEMO_COMPETITION_FILE);
      for (const [cg, m] of Object.entries(competition.surfaces.related?.metrics ?? {})) {
        record.headline[`competition/related/${cg}/delivered_share`] = m.delivered_share ?? null;
        record.headline[`competition/related/${cg}/marginal_recall`] =
          m[`marginal_recall@${competition.k}`] ?? null;
      }
    }
    writeJsonAtomic(at("record"), record);
    return record;
  }).finally(() => {
    // The library form must not leave the two models' tensors behind (the CLI exits anyway).
    for (const m of trained) disposeModel(m);
    disposeCgs(rivals);
  });
}
