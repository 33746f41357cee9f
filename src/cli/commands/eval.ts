/**
 * `ctxrec eval`: offline evaluation under the `loo` protocol (src/eval/loo.ts). For now it judges
 * the reference scorers (`--baseline popularity|cooccurrence`); a trained model (`--model DIR`)
 * plugs into the same `RetrievalScorer` contract when the model artifact exists.
 */
import { type Command, Option } from "commander";
import { CtxrecError } from "../../core/errors.ts";
import type { CompiledDataset } from "../../data/dataset.ts";
import { loadDataset } from "../../data/load.ts";
import { initEngine } from "../../engine/backend.ts";
import { createCooccurrenceScorer, createPopularityScorer } from "../../eval/baselines.ts";
import { evaluateLoo } from "../../eval/loo.ts";
import { formatEvalTable, type LooTarget, writeEvalJson } from "../../eval/result.ts";
import type { RetrievalScorer } from "../../eval/scorer.ts";
import { loadModel } from "../../model/artifact.ts";
import { createModelScorer } from "../../model/scorer.ts";
import { addDataOptions, type DataOptionValues, parseDataOptions } from "../dataOptions.ts";
import { toNumber } from "../numbers.ts";
import { progressBar } from "../progress.ts";

/** Reference scorers `--baseline` can name. */
export const EVAL_BASELINES = ["popularity", "cooccurrence"] as const;

interface EvalOptions extends DataOptionValues {
  baseline?: (typeof EVAL_BASELINES)[number];
  model?: string;
  protocol: string;
  target: LooTarget;
  window: string;
  batchSize: string;
  json?: string;
}

export function registerEvalCommand(program: Command): void {
  addDataOptions(
    program
      .command("eval")
      .description(
        "rank the held-out event of every user over all items (loo protocol) and report HIT@K, NDCG@K, MRR",
      ),
  )
    .addOption(new Option("--baseline <name>", "reference scorer to evaluate").choices([...EVAL_BASELINES]))
    .addOption(new Option("--protocol <name>", "evaluation protocol").choices(["loo"]).default("loo"))
    .addOption(
      new Option("--target <which>", "last event (test) or second-to-last (validation)")
        .choices(["test", "validation"])
        .default("test"),
    )
    .option("--model <dir>", "trained model folder (ctxrec train --out DIR); scored with no context")
    .option("--window <n>", "cooccurrence: count items up to n events after an item", "1")
    .option("--batch-size <n>", "users scored per batch", "256")
    .option("--json <file>", "also write the result as JSON (atomically)")
    .action(async (opts: EvalOptions) => {
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
      const scorer: RetrievalScorer =
        opts.model !== undefined
          ? await modelScorer(opts.model, ds)
          : opts.baseline === "popularity"
            ? createPopularityScorer(ds)
            : createCooccurrenceScorer(ds, { window });
      const bar = progressBar("ranking", "users");
      const started = performance.now();
      const result = await evaluateLoo(ds, scorer, {
        target: opts.target,
        batchSize,
        onProgress: (done, total) => bar.update(done, total),
      }).finally(() => bar.stop());
      const seconds = (performance.now() - started) / 1000;
      process.stdout.write(`${formatEvalTable(result)}ranked in ${seconds.toFixed(1)} s\n`);
      if (opts.json !== undefined) {
        writeEvalJson(opts.json, result);
        process.stdout.write(`wrote ${opts.json}\n`);
      }
    });
}

/** A trained model folder as a scorer, refusing data whose item ids differ from the model's. */
async function modelScorer(dir: string, ds: CompiledDataset): Promise<RetrievalScorer> {
  await initEngine();
  const { model, manifest, vocabs } = loadModel(dir);
  const names = ds.itemVocab.names;
  const same = vocabs.items.length === names.length && vocabs.items.every((n, i) => n === names[i]);
  if (!same) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_UNKNOWN_ID",
      `the model was trained on ${vocabs.items.length - 1} items and this data set has ${names.length - 1} with other ids or order; evaluate on the data the model was trained on (${manifest.data.path})`,
      { param: "--model" },
    );
  }
  const tag = manifest.config.context.enabled ? "ctxrec" : "ctxrec-baseline";
  return createModelScorer(model, `${tag}@${manifest.version.slice(0, 12)}`);
}
