/**
 * `ctxrec funnel-sweep`: the funnel protocol over a sweep of the world's context strength r and
 * several seeds (src/funnel/sweep.ts): per (r, seed) a world, the contextual model and the
 * baseline (trained once per seed: the logs do not depend on r), the funnel on Related-Items and
 * Search; prints mean [95% interval] tables and writes `sweep.json` in --out.
 */
import path from "node:path";
import type { Command } from "commander";
import { writeJsonAtomic } from "../../core/atomicFile.ts";
import { CtxrecError } from "../../core/errors.ts";
import { runFunnelSweep } from "../../funnel/sweep.ts";
import { formatCompetitionSweepTables } from "../../funnel/sweepCompetition.ts";
import { formatSweepTables } from "../../funnel/sweepSummary.ts";
import { PRESET_NAMES } from "../../synth/params.ts";
import { addCgOption, parseCgOptions } from "../cgOption.ts";
import {
  addContextTrainingOptions,
  type ContextTrainingOptionValues,
  contextModelOverrides,
  contextTrainOverrides,
} from "../contextTrainingOptions.ts";
import { toNumber, toOptionalNumber } from "../numbers.ts";

interface SweepOptions extends ContextTrainingOptionValues {
  r: string;
  seeds: string;
  preset: string;
  out: string;
  maxMinutes: string;
  epochs: string;
  dim?: string;
  blocks?: string;
  maxLen?: string;
  negatives?: string;
  k?: string;
  slots?: string;
  noise?: string;
  q?: string;
  search: boolean;
  json?: string;
  cg?: string[];
}

/** "0,0.5,1" → [0, 0.5, 1]; throws naming the flag on an empty or non-numeric list. */
function numberList(text: string, flag: string): number[] {
  const list = text
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "")
    .map((t) => toNumber(t, flag));
  if (list.length === 0) {
    throw new CtxrecError("CTXREC_ERR_ARG", `expected a comma-separated list of numbers, got '${text}'`, {
      param: flag,
    });
  }
  return list;
}

export function registerFunnelSweepCommand(program: Command): void {
  const cmd = addContextTrainingOptions(program.command("funnel-sweep"))
    .description(
      "funnel protocol over context strengths r and seeds: trains the contextual model and the baseline per world, reports means with 95% intervals",
    )
    .option("--r <list>", "context strengths r of the worlds", "0,0.25,0.5,0.75,1")
    .option(
      "--q <x>",
      "chance the request's intent comes from the user's long-term interests (default 0.5; 0 = every intent is new to the history)",
    )
    .option("--seeds <list>", "world seeds (one run per r and seed)", "1,2,3")
    .option("--preset <name>", `world size: ${PRESET_NAMES.join(" | ")}`, "tiny")
    .requiredOption("--out <dir>", "folder for worlds, models and sweep.json")
    .option("--max-minutes <m>", "training budget of each model, in minutes", "2")
    .option("--epochs <n>", "maximum epochs of each model", "200")
    .option("--dim <d>", "model width d (default 64)")
    .option("--blocks <n>", "Transformer blocks (default 2)")
    .option("--max-len <L>", "history length L (default 50)")
    .option("--negatives <n>", "uniform negatives per batch (default 1024)")
    .option("--k <n>", "candidates per CG per request (default 100)")
    .option("--slots <n>", "impression slots per request (default 10)")
    .option("--noise <x>", "ranker's log-normal error σ (default 0.1)")
    .option("--no-search", "Related-Items only (no Search surface)")
    .option("--json <file>", "where to write the result (default OUT/sweep.json)");
  addCgOption(
    cmd,
    "a trained CG to compete against the seed's contextual model (ctxrec) in a funnel of only their pools, repeatable: a model folder, or one per seed as DIR/seed<s>",
  );
  cmd.action(async (opts: SweepOptions) => {
    const rs = numberList(opts.r, "--r");
    const seeds = numberList(opts.seeds, "--seeds");
    const competitors = parseCgOptions(opts.cg);
    const num = (v: string | undefined, flag: string) => toOptionalNumber(v, flag);
    const drop = <T extends object>(x: T) =>
      Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined)) as Partial<T>;
    const dim = num(opts.dim, "--dim");
    const result = await runFunnelSweep({
      rs,
      seeds,
      preset: opts.preset,
      outDir: opts.out,
      worldOverrides: drop({ q: num(opts.q, "--q") }),
      model: {
        encoder: drop({ dim, blocks: num(opts.blocks, "--blocks"), maxLen: num(opts.maxLen, "--max-len") }),
        context: { ...contextModelOverrides(opts), ...drop({ dim }) },
      },
      train: {
        ...contextTrainOverrides(opts),
        ...drop({
          maxMinutes: toNumber(opts.maxMinutes, "--max-minutes"),
          epochs: toNumber(opts.epochs, "--epochs"),
          uniformNegatives: num(opts.negatives, "--negatives"),
        }),
      },
      funnel: drop({
        k: num(opts.k, "--k"),
        slots: num(opts.slots, "--slots"),
        noise: num(opts.noise, "--noise"),
      }),
      search: opts.search,
      competitors,
      onStage: (m) => process.stderr.write(`${m}\n`),
    });
    process.stdout.write(formatSweepTables(result, result));
    if (result.competition !== undefined) {
      process.stdout.write(formatCompetitionSweepTables(result.competition, result));
    }
    const file = opts.json ?? path.join(opts.out, "sweep.json");
    writeJsonAtomic(file, result);
    process.stdout.write(
      `swept ${rs.length} r × ${seeds.length} seeds in ${(result.seconds / 60).toFixed(1)} min; wrote ${file}\n`,
    );
  });
}
