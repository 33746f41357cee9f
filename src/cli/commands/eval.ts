/**
 * `ctxrec eval`: offline evaluation.
 * - `--protocol loo` (src/eval/loo.ts): a reference scorer (`--baseline popularity|cooccurrence`)
 *   or a trained model (`--model DIR`, scored with no context).
 * - `--protocol stale-context` (src/eval/staleContext.ts): the contextual model (`--model DIR`) on a
 *   stale state + the event before the target as context, against the no-context model
 *   (`--baseline DIR2`, trained with `--no-context`) on the same stale state and on the full history.
 * - `--protocol funnel` (src/funnel/modelFunnel.ts): both models as candidate generators beside the
 *   reference CGs in the funnel simulator on a synthetic world (`--world DIR`, shorthand for
 *   `--format jsonl --path DIR`), on Related-Items and, when the world has it, Search.
 */
import { type Command, Option } from "commander";
import { writeJsonAtomic } from "../../core/atomicFile.ts";
import { CtxrecError } from "../../core/errors.ts";
import type { CompiledDataset } from "../../data/dataset.ts";
import { loadDataset } from "../../data/load.ts";
import { createCooccurrenceScorer, createPopularityScorer } from "../../eval/baselines.ts";
import { compareLoo, evaluateLoo } from "../../eval/loo.ts";
import { formatEvalTable, type LooTarget, writeEvalJson } from "../../eval/result.ts";
import type { RetrievalScorer } from "../../eval/scorer.ts";
import {
  defaultStaleSettings,
  evaluateStaleContext,
  formatStaleTable,
  hasRealTimestamps,
  type StaleSetting,
  writeStaleJson,
} from "../../eval/staleContext.ts";
import {
  competitionDocument,
  formatCompetitionTable,
  runCompetitionFunnel,
} from "../../funnel/competition.ts";
import { disposeCgs, loadCgs } from "../../funnel/competitors.ts";
import { MODEL_CG, type ModelLift, modelFunnelDocument, runModelFunnel } from "../../funnel/modelFunnel.ts";
import { FUNNEL_DEFAULTS } from "../../funnel/simulator.ts";
import { SURFACES, type Surface } from "../../funnel/surface.ts";
import type { LoadedModel } from "../../model/artifact.ts";
import { loadModelFor, sameNames, trainedContextK } from "../../model/loadFor.ts";
import { createModelScorer } from "../../model/scorer.ts";
import { readWorld } from "../../synth/read.ts";
import type { World } from "../../synth/types.ts";
import { trainedContextEncoder } from "../../train/contextEncoder.ts";
import { addCgOption, parseCgOptions } from "../cgOption.ts";
import { addDataOptions, type DataOptionValues, parseDataOptions } from "../dataOptions.ts";
import { toNumber, toOptionalNumber } from "../numbers.ts";
import { progressBar } from "../progress.ts";
import { formatFunnelSettings, formatFunnelSummary } from "./funnel.ts";

/** Reference scorers `--baseline` can name. */
export const EVAL_BASELINES = ["popularity", "cooccurrence"] as const;

/** Protocols `--protocol` accepts. */
export const EVAL_PROTOCOLS = ["loo", "stale-context", "funnel"] as const;

interface EvalOptions extends DataOptionValues {
  /** loo: a reference scorer name; stale-context: the no-context model folder. */
  baseline?: string;
  model?: string;
  /** loo: a second scorer ranked on the same users (a model folder or a reference name). */
  versus?: string;
  protocol: (typeof EVAL_PROTOCOLS)[number];
  cutoff?: string;
  dropLast?: string;
  target: LooTarget;
  window: string;
  batchSize: string;
  json?: string;
  /** funnel: the world folder (also sets --format jsonl --path). */
  world?: string;
  k?: string;
  slots?: string;
  noise?: string;
  seed?: string;
  surface?: string;
  /** funnel: the competition's CGs, `name=DIR` each. */
  cg?: string[];
}

export function registerEvalCommand(program: Command): void {
  const cmd = addDataOptions(
    program
      .command("eval")
      .description(
        "rank the held-out event of every user over all items (loo, stale-context) and report HIT@K, NDCG@K, MRR",
      ),
  );
  cmd
    .option(
      "--baseline <name|dir>",
      `loo: reference scorer to evaluate (${EVAL_BASELINES.join("|")}); stale-context, funnel: the no-context model folder (ctxrec train --no-context)`,
    )
    .option(
      "--versus <dir|name>",
      `loo: a second model folder (or ${EVAL_BASELINES.join("|")}) ranked on the same users; prints the paired difference of every metric with its 95% interval`,
    )
    .addOption(
      new Option("--protocol <name>", "evaluation protocol").choices([...EVAL_PROTOCOLS]).default("loo"),
    )
    .option(
      "--cutoff <durations>",
      "stale-context: the state ends this long before the target, e.g. 24h or a sweep 1h,24h,7d,30d (units s|m|h|d; data with real timestamps; default 24h)",
    )
    .option(
      "--drop-last <n,...>",
      "stale-context: the state misses the last n events before the target, e.g. 1,2,4 (the default on S3-Rec data, whose timestamps are positions)",
    )
    .addOption(
      new Option("--target <which>", "last event (test) or second-to-last (validation)")
        .choices(["test", "validation"])
        .default("test"),
    )
    .option(
      "--model <dir>",
      "trained model folder (ctxrec train --out DIR); loo: scored with no context; stale-context, funnel: the contextual model",
    )
    .option("--window <n>", "cooccurrence: count items up to n events after an item", "1")
    .option("--batch-size <n>", "users scored per batch", "256")
    .option("--json <file>", "also write the result as JSON (atomically)")
    .option(
      "--world <dir>",
      "funnel: synthetic world folder (ctxrec synth [--search]); implies --format jsonl --path DIR",
    )
    .option("--k <n>", `funnel: candidates per CG per request (default ${FUNNEL_DEFAULTS.k})`)
    .option("--slots <n>", `funnel: impression slots per request (default ${FUNNEL_DEFAULTS.slots})`)
    .option("--noise <x>", `funnel: ranker's log-normal error σ (default ${FUNNEL_DEFAULTS.noise})`)
    .option(
      "--seed <n>",
      `funnel: seed of the ranker noise and reference CGs (default ${FUNNEL_DEFAULTS.seed})`,
    )
    .option(
      "--surface <list>",
      "funnel: related, search or related,search (default: both when the world has search.jsonl)",
    );
  addCgOption(
    cmd,
    "funnel: a trained CG of a competition, repeatable (any model folder; the name labels its rows): only these CGs feed the ranker, their pools merged; replaces --model/--baseline",
  );
  cmd.action(async (opts: EvalOptions) => {
    if (opts.protocol === "stale-context") await runStaleContext(opts);
    else if (opts.protocol === "funnel") await runFunnelProtocol(opts);
    else await runLoo(opts);
  });
  // `--world DIR` stands for `--format jsonl --path DIR` (set while parsing, before the check for
  // the mandatory data options).
  cmd.on("option:world", (dir: string) => {
    cmd.setOptionValueWithSource("format", "jsonl", "cli");
    cmd.setOptionValueWithSource("path", dir, "cli");
  });
}

/** `--protocol loo`. */
async function runLoo(opts: EvalOptions): Promise<void> {
  refuseFunnelFlags(opts, "loo");
  for (const [flag, v] of [
    ["--cutoff", opts.cutoff],
    ["--drop-last", opts.dropLast],
  ] as const) {
    if (v !== undefined) {
      throw new CtxrecError("CTXREC_ERR_ARG", `${flag} belongs to --protocol stale-context, not loo`, {
        param: flag,
      });
    }
  }
  if (opts.baseline !== undefined && !(EVAL_BASELINES as readonly string[]).includes(opts.baseline)) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `'${opts.baseline}' is not a reference scorer; under --protocol loo --baseline is one of ${EVAL_BASELINES.join(", ")} (a model folder goes with --model, or with --protocol stale-context)`,
      { param: "--baseline" },
    );
  }
  if ((opts.baseline === undefined) === (opts.model === undefined)) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `give exactly one of --baseline ${EVAL_BASELINES.join("|")} or --model DIR`,
      { param: opts.model === undefined ? "--baseline" : "--model" },
    );
  }
  const window = toNumber(opts.window, "--window");
  const batchSize = toNumber(opts.batchSize, "--batch-size");
  const { args, stop } = parseDataOptions(opts);
  const ds = await loadDataset(args).finally(stop);
  const scorer =
    opts.model !== undefined
      ? await modelScorer(opts.model, ds, "--model")
      : await looScorer(opts.baseline as string, ds, window, "--baseline");
  const versus = opts.versus === undefined ? undefined : await looScorer(opts.versus, ds, window, "--versus");
  const bar = progressBar("ranking", "users");
  const started = performance.now();
  const looArgs = {
    target: opts.target,
    batchSize,
    onProgress: (done: number, total: number) => bar.update(done, total),
  };
  const result = await (versus === undefined
    ? evaluateLoo(ds, scorer, looArgs)
    : compareLoo(ds, scorer, versus, looArgs)
  ).finally(() => bar.stop());
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${formatEvalTable(result)}ranked in ${seconds.toFixed(1)} s\n`);
  if (opts.json !== undefined) {
    writeEvalJson(opts.json, result);
    process.stdout.write(`wrote ${opts.json}\n`);
  }
}

/** A trained model folder as a scorer, refusing data whose item ids differ from the model's. */
async function modelScorer(dir: string, ds: CompiledDataset, flag: string): Promise<RetrievalScorer> {
  const { model, manifest } = await loadModelFor(dir, ds, flag);
  return createModelScorer(model, modelName(manifest));
}

/** A reference scorer (`popularity`, `cooccurrence`) or a model folder, as `flag` names it. */
async function looScorer(
  name: string,
  ds: CompiledDataset,
  window: number,
  flag: string,
): Promise<RetrievalScorer> {
  if (name === "popularity") return createPopularityScorer(ds);
  if (name === "cooccurrence") return createCooccurrenceScorer(ds, { window });
  return modelScorer(name, ds, flag);
}

/** "ctxrec@<version>" or "ctxrec-baseline@<version>". */
function modelName(manifest: LoadedModel["manifest"]): string {
  const tag = manifest.config.context.enabled ? "ctxrec" : "ctxrec-baseline";
  return `${tag}@${manifest.version.slice(0, 12)}`;
}

/** Seconds of a duration like "24h", "30m", "7d", "90s" or "3600" (seconds). */
export function parseDuration(text: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$/.exec(text);
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86_400 }[m?.[2] ?? ""] ?? 1;
  const seconds = m === null ? Number.NaN : Number(m[1]) * unit;
  if (!(seconds > 0)) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `'${text}' is not a duration > 0; write a number with a unit s, m, h or d (e.g. 24h, 7d)`,
      { param: flag },
    );
  }
  return seconds;
}

/** The staleness settings of `--cutoff` / `--drop-last`, or the data set's default. */
export function staleSettings(
  opts: Pick<EvalOptions, "cutoff" | "dropLast">,
  ds: CompiledDataset,
): StaleSetting[] {
  if (opts.cutoff !== undefined && opts.dropLast !== undefined) {
    throw new CtxrecError("CTXREC_ERR_ARG", "give --cutoff or --drop-last, not both", { param: "--cutoff" });
  }
  const list = (text: string) => text.split(",").filter((t) => t.trim() !== "");
  if (opts.cutoff !== undefined) {
    if (!hasRealTimestamps(ds)) {
      throw new CtxrecError(
        "CTXREC_ERR_ARG",
        `the ${ds.source.format} data set has no real timestamps (event k is at k seconds), so a time cut-off means nothing; use --drop-last 1,2,4`,
        { param: "--cutoff" },
      );
    }
    const settings = list(opts.cutoff).map((t) => ({
      kind: "cutoff" as const,
      seconds: parseDuration(t, "--cutoff"),
    }));
    if (settings.length === 0) {
      throw new CtxrecError("CTXREC_ERR_ARG", `expected durations like 1h,24h,7d, got '${opts.cutoff}'`, {
        param: "--cutoff",
      });
    }
    return settings;
  }
  if (opts.dropLast !== undefined) {
    const settings = list(opts.dropLast).map((t) => {
      const n = toNumber(t, "--drop-last");
      if (!(Number.isInteger(n) && n >= 1)) {
        throw new CtxrecError("CTXREC_ERR_ARG", `expected event counts ≥ 1 like 1,2,4, got '${t}'`, {
          param: "--drop-last",
        });
      }
      return { kind: "drop-last" as const, events: n };
    });
    if (settings.length === 0) {
      throw new CtxrecError("CTXREC_ERR_ARG", `expected event counts like 1,2,4, got '${opts.dropLast}'`, {
        param: "--drop-last",
      });
    }
    return settings;
  }
  return defaultStaleSettings(ds);
}

/** `--protocol stale-context`. */
async function runStaleContext(opts: EvalOptions): Promise<void> {
  refuseFunnelFlags(opts, "stale-context");
  refuseVersus(opts, "stale-context");
  if (opts.model === undefined || opts.baseline === undefined) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      "--protocol stale-context needs --model DIR (the contextual model) and --baseline DIR2 (a model trained with --no-context)",
      { param: opts.model === undefined ? "--model" : "--baseline" },
    );
  }
  const batchSize = toNumber(opts.batchSize, "--batch-size");
  const { args, stop } = parseDataOptions(opts);
  const ds = await loadDataset(args).finally(stop);
  const settings = staleSettings(opts, ds);
  const ctx = await loadModelFor(opts.model, ds, "--model");
  const base = await loadModelFor(opts.baseline, ds, "--baseline");
  if (!ctx.manifest.config.context.enabled) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `${opts.model} has no context layer (trained with --no-context); --model must be the contextual model`,
      { param: "--model" },
    );
  }
  if (base.manifest.config.context.enabled) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `${opts.baseline} has a context layer; --baseline must be a model trained with --no-context (the contextual model without context is reported anyway, as ctx-no-ctx)`,
      { param: "--baseline" },
    );
  }
  // The context's category codes are the data set's; the model's context table must mean the same.
  if (!sameNames(ctx.vocabs.categories, ds.categoryVocab.names)) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_UNKNOWN_ID",
      `the model's ${ctx.vocabs.categories.length - 1} categories differ from this data set's ${ds.categoryVocab.size - 1}; evaluate on the data (and attributes) the model was trained on (${ctx.manifest.data.path})`,
      { param: "--model" },
    );
  }
  const k = trainedContextK(ctx, opts.model);
  const scorers = {
    contextual: createModelScorer(ctx.model, modelName(ctx.manifest), { context: trainedContextEncoder(k) }),
    baseline: createModelScorer(base.model, modelName(base.manifest)),
  };
  const bar = progressBar("ranking", "user passes");
  const started = performance.now();
  const result = await evaluateStaleContext(ds, scorers, {
    settings,
    batchSize,
    target: opts.target,
    onProgress: (done, total) => bar.update(done, total),
  }).finally(() => bar.stop());
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `${formatStaleTable(result)}context: the subject item's top ${k} categories (the model's training k)\nranked in ${seconds.toFixed(1)} s\n`,
  );
  if (opts.json !== undefined) {
    writeStaleJson(opts.json, result);
    process.stdout.write(`wrote ${opts.json}\n`);
  }
}

/** `--versus` belongs to loo (stale-context and funnel compare their models themselves). */
function refuseVersus(opts: EvalOptions, protocol: string): void {
  if (opts.versus !== undefined) {
    throw new CtxrecError("CTXREC_ERR_ARG", `--versus belongs to --protocol loo, not ${protocol}`, {
      param: "--versus",
    });
  }
}

/** Flags of `--protocol funnel` given to another protocol are mistakes: say so. */
function refuseFunnelFlags(opts: EvalOptions, protocol: string): void {
  for (const [flag, v] of [
    ["--world", opts.world],
    ["--k", opts.k],
    ["--slots", opts.slots],
    ["--noise", opts.noise],
    ["--seed", opts.seed],
    ["--surface", opts.surface],
    ["--cg", opts.cg?.join(" ")],
  ] as const) {
    if (v !== undefined) {
      throw new CtxrecError("CTXREC_ERR_ARG", `${flag} belongs to --protocol funnel, not ${protocol}`, {
        param: flag,
      });
    }
  }
}

/** The surfaces of `--surface`, or undefined (the default: both when the world has Search). */
function parseSurfaces(text: string | undefined): Surface[] | undefined {
  if (text === undefined) return undefined;
  const list = text
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "");
  for (const t of list) {
    if (!(SURFACES as readonly string[]).includes(t)) {
      throw new CtxrecError("CTXREC_ERR_ARG", `'${t}' is not a surface; use ${SURFACES.join(", ")}`, {
        param: "--surface",
      });
    }
  }
  if (list.length === 0) {
    throw new CtxrecError("CTXREC_ERR_ARG", `expected related, search or both, got '${text}'`, {
      param: "--surface",
    });
  }
  return list as Surface[];
}

/** `--protocol funnel` runs on a synthetic world (`--world DIR`, i.e. `--format jsonl`). */
function requireWorld(opts: EvalOptions): void {
  if (opts.format !== "jsonl") {
    throw new CtxrecError("CTXREC_ERR_ARG", "--protocol funnel runs on a synthetic world: give --world DIR", {
      param: "--world",
    });
  }
}

/** `--protocol funnel`. */
async function runFunnelProtocol(opts: EvalOptions): Promise<void> {
  refuseVersus(opts, "funnel");
  if (opts.cg !== undefined) return runCompetitionProtocol(opts);
  if (opts.model === undefined || opts.baseline === undefined) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      "--protocol funnel needs --model DIR (the contextual model) and --baseline DIR2 (a model trained with --no-context)",
      { param: opts.model === undefined ? "--model" : "--baseline" },
    );
  }
  requireWorld(opts);
  const { args, stop } = parseDataOptions(opts);
  const ds = await loadDataset(args).finally(stop);
  const ctx = await loadModelFor(opts.model, ds, "--model");
  const base = await loadModelFor(opts.baseline, ds, "--baseline");
  if (!ctx.manifest.config.context.enabled) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `${opts.model} has no context layer; --model must be the contextual model`,
      {
        param: "--model",
      },
    );
  }
  if (base.manifest.config.context.enabled) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `${opts.baseline} has a context layer; --baseline must be trained with --no-context`,
      {
        param: "--baseline",
      },
    );
  }
  if (!sameNames(ctx.vocabs.categories, ds.categoryVocab.names)) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_UNKNOWN_ID",
      `the model's categories differ from this world's; evaluate on the world the model was trained on (${ctx.manifest.data.path})`,
      { param: "--model" },
    );
  }
  const pair = {
    contextual: {
      model: ctx.model,
      contextK: trainedContextK(ctx, opts.model),
      version: ctx.manifest.version,
    },
    baseline: { model: base.model, version: base.manifest.version },
  };
  const { reports, seconds } = await timedFunnel(args.path, (world, onProgress) =>
    runModelFunnel(world, ds, pair, { ...funnelRunArgs(opts), onProgress }),
  );
  const doc = modelFunnelDocument(reports, args.path, {
    contextual: modelName(ctx.manifest),
    baseline: modelName(base.manifest),
  });
  for (const [surface, report] of Object.entries(reports)) {
    process.stdout.write(
      `[${surface}] ${formatFunnelSummary(report, args.path, seconds)}${formatLift(doc.surfaces[surface].lift)}\n`,
    );
  }
  if (opts.json !== undefined) {
    writeJsonAtomic(opts.json, doc);
    process.stdout.write(`wrote ${opts.json}\n`);
  }
}

/** One line: the contextual model's lift over the baseline. */
function formatLift(l: ModelLift): string {
  const f = (x: number | null, d: number) => (x === null ? "—" : x.toFixed(d));
  return `${MODEL_CG.contextual} over ${MODEL_CG.baseline}: recall ×${f(l.recall_ratio, 3)}, relevance ${f(l.relevance_lift_pct, 1)}% (median) / ${f(l.relevance_mean_lift_pct, 1)}% (mean), delivered ×${f(l.delivered_ratio, 3)}`;
}

/** Reads the world at `dir` and runs `run` on it under a progress bar; the seconds it ran. */
async function timedFunnel<T>(
  dir: string,
  run: (world: World, onProgress: (done: number, total: number) => void) => Promise<T>,
): Promise<{ reports: T; seconds: number }> {
  const world = await readWorld(dir);
  const started = performance.now();
  const bar = progressBar("funnel", "requests");
  const reports = await run(world, (done, total) => bar.update(done, total)).finally(() => bar.stop());
  return { reports, seconds: (performance.now() - started) / 1000 };
}

/** The funnel's settings, as `--protocol funnel` parses them for either form. */
function funnelRunArgs(opts: EvalOptions) {
  return {
    k: toOptionalNumber(opts.k, "--k"),
    slots: toOptionalNumber(opts.slots, "--slots"),
    noise: toOptionalNumber(opts.noise, "--noise"),
    seed: toOptionalNumber(opts.seed, "--seed"),
    batchSize: toNumber(opts.batchSize, "--batch-size"),
    surfaces: parseSurfaces(opts.surface),
  };
}

/** `--protocol funnel --cg name=DIR …`: only the named CGs compete (src/funnel/competition.ts). */
async function runCompetitionProtocol(opts: EvalOptions): Promise<void> {
  for (const [flag, v] of [
    ["--model", opts.model],
    ["--baseline", opts.baseline],
  ] as const) {
    if (v !== undefined) {
      throw new CtxrecError(
        "CTXREC_ERR_ARG",
        `${flag} does not go with --cg: in a competition every CG is a --cg name=DIR (e.g. --cg ctxrec=${v})`,
        { param: flag },
      );
    }
  }
  requireWorld(opts);
  const specs = parseCgOptions(opts.cg);
  const runArgs = funnelRunArgs(opts);
  const { args, stop } = parseDataOptions(opts);
  const ds = await loadDataset(args).finally(stop);
  const cgs = await loadCgs(specs, ds);
  const { reports, seconds } = await timedFunnel(args.path, (world, onProgress) =>
    runCompetitionFunnel(
      world,
      ds,
      cgs.map((c) => c.spec),
      { ...runArgs, onProgress },
    ),
  ).finally(() => disposeCgs(cgs));
  for (const [surface, report] of Object.entries(reports)) {
    process.stdout.write(
      `[${surface}] competition: ${cgs.map((c) => c.spec.name).join(" vs ")}; ${formatFunnelSettings(report, args.path, seconds)}${formatCompetitionTable(report)}\n`,
    );
  }
  if (opts.json !== undefined) {
    const info = Object.fromEntries(
      cgs.map((c) => [c.spec.name, { dir: c.dir, version: c.version, contextual: c.contextual }]),
    );
    writeJsonAtomic(opts.json, competitionDocument(reports, args.path, info));
    process.stdout.write(`wrote ${opts.json}\n`);
  }
}
