/**
 * `ctxrec demo [--quick] [--out DIR] [--seed N] [--cg name=DIR …]`: the main job on the embedded
 * defaults, end to end with nothing to start by hand (src/pipeline/demo.ts): synthetic world →
 * contextual model and baseline → feature store → item index → loo, stale-context and funnel
 * evaluations (with --cg, the contextual model against those CGs in a competition funnel) → HTML
 * report. One progress bar per stage on stderr (TTY only); stage timings on stdout and in
 * DIR/demo.json; at the end, where everything is and the `ctxrec serve` command that serves it.
 */
import type { Command } from "commander";
import { DEMO_BUDGETS, runDemo } from "../../pipeline/demo.ts";
import { addCgOption, parseCgOptions } from "../cgOption.ts";
import { toNumber, toOptionalNumber } from "../numbers.ts";
import { type Progress, progressBar } from "../progress.ts";

interface DemoOptions {
  out: string;
  seed: string;
  quick?: boolean;
  maxMinutes?: string;
  epochs?: string;
  cg?: string[];
}

/** `--cg`: the competition stage (issue #14 part 4; the Shopping CG of part 3 is meant to go here). */
const CG_HELP =
  "a trained CG to compete against the contextual model in an extra stage (competition.json), repeatable; the model must be trained on this demo's world (same --quick and --seed), e.g. the Shopping CG";

export function registerDemoCommand(program: Command): void {
  const { full, quick } = DEMO_BUDGETS;
  const cmd = program
    .command("demo")
    .description(
      "run the whole pipeline on the embedded defaults: synthetic world → train (contextual + baseline) → " +
        "feature store → item index → evaluate (loo, stale-context, funnel) → report; prints the serve command",
    )
    .option(
      "--out <dir>",
      "folder for everything the demo writes (an earlier demo's folder is replaced)",
      "runs/demo",
    )
    .option("--seed <n>", "seed of the world, the training runs and the funnel", "1")
    .option(
      "--quick",
      `a first look in under 3 minutes: ${quick.preset} world, ${quick.contextualMinutes}/${quick.baselineMinutes} min of training (default: ${full.preset} world, ${full.contextualMinutes}/${full.baselineMinutes} min)`,
    )
    .option("--max-minutes <m>", "training budget per model in minutes (overrides the mode's)")
    .option("--epochs <n>", "maximum epochs per model (default 200: the budget ends training)");
  addCgOption(cmd, CG_HELP).action(async (opts: DemoOptions) => {
    let bar: Progress | undefined;
    const record = await runDemo(
      {
        outDir: opts.out,
        seed: toNumber(opts.seed, "--seed"),
        quick: opts.quick === true,
        maxMinutes: toOptionalNumber(opts.maxMinutes, "--max-minutes"),
        epochs: toOptionalNumber(opts.epochs, "--epochs"),
        competitors: parseCgOptions(opts.cg),
      },
      {
        onStageStart: ({ index, count, name, unit }) => {
          process.stdout.write(`== ${index}/${count} ${name}\n`);
          bar = progressBar(name, unit);
        },
        onProgress: (done, total) => bar?.update(done, total),
        onStageEnd: ({ seconds, summary }) => {
          bar?.stop();
          bar = undefined;
          process.stdout.write(`   ${summary} [${seconds.toFixed(1)} s]\n`);
        },
      },
    ).finally(() => bar?.stop());
    const lines = [
      "",
      `demo (${record.mode}) done in ${record.seconds.toFixed(1)} s:`,
      ...record.stages.map((s) => `  ${s.name.padEnd(20)} ${s.seconds.toFixed(1).padStart(7)} s`),
      "",
      `results in ${record.outDir} (stage timings and headline figures: ${record.files.record})`,
      `report: ${record.files.report}`,
      "serve the contextual model on the result:",
      `  ${record.serveCommand}`,
      "",
    ];
    process.stdout.write(lines.join("\n"));
  });
}
