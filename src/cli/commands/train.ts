/**
 * `ctxrec train`: trains the contextual sequential two-tower model (or the baseline with
 * `--no-context`) on the train part of the leave-one-out split, early-stopping on validation
 * NDCG@10, evaluates the kept weights on the test targets (loo) and writes the model folder.
 */
import os from "node:os";
import cliProgress from "cli-progress";
import { type Command, Option } from "commander";
import { loadDataset } from "../../data/load.ts";
import { initEngine } from "../../engine/backend.ts";
import { evaluateLoo } from "../../eval/loo.ts";
import { formatEvalTable } from "../../eval/result.ts";
import {
  EMBEDDING_INITS,
  type EmbeddingInit,
  ENCODER_BLOCKS,
  type EncoderBlock,
  FUSIONS,
  MODEL_DEFAULTS,
  type ModelConfig,
  type ModelConfigOverrides,
  POSITION_ANCHORS,
  type PositionAnchor,
  resolveModelConfig,
  TOWER_DEFAULTS,
  TOWERS,
  type Tower,
} from "../../model/config.ts";
import { createModelScorer } from "../../model/scorer.ts";
import { saveTrainedModel } from "../../pipeline/trainModel.ts";
import { BATCHINGS, type Batching, WINDOWS, type Windows } from "../../train/examples.ts";
import { LOSS_CHOICES, type LossChoice } from "../../train/lossMode.ts";
import { TRAIN_DEFAULTS as D, resolveTrainArgs, type TrainArgs } from "../../train/trainArgs.ts";
import { type TrainProgress, train } from "../../train/trainer.ts";
import {
  addContextTrainingOptions,
  type ContextTrainingOptionValues,
  contextModelOverrides,
  contextTrainOverrides,
} from "../contextTrainingOptions.ts";
import { addDataOptions, type DataOptionValues, parseDataOptions } from "../dataOptions.ts";
import { intOption, toNumber, toOptionalNumber } from "../numbers.ts";
import { applyTrainPreset, TRAIN_PRESETS, type TrainPreset } from "../trainPresets.ts";

/** Most training threads `--threads` takes: each is a wasm instance with its own copy of the model. */
const MAX_THREADS = 64;

/**
 * `--threads` by default: every core the process may use (`os.availableParallelism`). Rows draw
 * their dropout and pseudo-context by key, so under the full softmax the model does not depend on
 * the thread count beyond float rounding; a busy machine is the one reason to ask for fewer.
 */
export function defaultTrainThreads(): number {
  return Math.max(1, Math.min(MAX_THREADS, os.availableParallelism()));
}

/**
 * A warning when other work already keeps the cores busy: data-parallel workers then wait for one
 * another at every step (measured on 2 cores at load 4–5: 390 → 542 ms a step with 2 threads).
 */
export function busyMachineWarning(
  threads: number,
  load = os.loadavg()[0],
  cores = os.availableParallelism(),
): string | undefined {
  if (threads < 2 || load < cores) return undefined;
  return `note: load average ${load.toFixed(1)} on ${cores} cores: ${threads} training threads compete with other work; --threads 1 may train faster here\n`;
}

interface TrainOptions extends DataOptionValues, ContextTrainingOptionValues {
  out: string;
  context: boolean;
  seed: string;
  maxMinutes: string;
  epochs: string;
  batchSize: string;
  batching: Batching;
  windows: Windows;
  lr: string;
  adamBeta2: string;
  loss: LossChoice;
  negatives: string;
  temperature: string;
  evalEvery: string;
  patience: string;
  lrDecay: string;
  lrPatience: string;
  threads: string;
  engagementTypes?: string;
  engagementWeight: string;
  advertiserWeight: string;
  dim?: string;
  blocks?: string;
  heads?: string;
  maxLen?: string;
  dropout?: string;
  ffn?: string;
  block?: EncoderBlock;
  init?: EmbeddingInit;
  positions?: PositionAnchor;
  itemCategories: boolean;
  timeGaps: boolean;
  fusion?: (typeof FUSIONS)[number];
  tower?: Tower;
  crossLayers?: string;
  crossRank?: string;
  l2Normalize?: boolean;
  test: boolean;
  preset?: TrainPreset;
}

/** Model overrides from the flags that were given (the rest keep MODEL_DEFAULTS). */
function modelOverrides(o: TrainOptions): ModelConfigOverrides {
  const num = (v: string | undefined, name: string) => toOptionalNumber(v, name);
  const drop = <T extends object>(x: T) =>
    Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined)) as Partial<T>;
  return {
    encoder: drop({
      dim: num(o.dim, "--dim"),
      blocks: num(o.blocks, "--blocks"),
      heads: num(o.heads, "--heads"),
      maxLen: num(o.maxLen, "--max-len"),
      dropout: num(o.dropout, "--dropout"),
      ffn: num(o.ffn, "--ffn"),
      timeGaps: o.timeGaps,
      block: o.block,
      init: o.init,
      positions: o.positions,
    }),
    context: { ...contextModelOverrides(o), ...drop({ enabled: o.context, dim: num(o.dim, "--dim") }) },
    itemTower: drop({ l2Normalize: o.l2Normalize, categories: o.itemCategories }),
    fusion: drop({ kind: o.fusion }),
    tower: drop({
      kind: o.tower,
      crossLayers: num(o.crossLayers, "--cross-layers"),
      crossRank: num(o.crossRank, "--cross-rank"),
    }),
  };
}

/** The model configuration and training arguments of the flags (validated). */
function resolveTraining(opts: TrainOptions): { config: ModelConfig; args: TrainArgs } {
  const config = resolveModelConfig(modelOverrides(opts));
  const args = resolveTrainArgs({
    seed: toNumber(opts.seed, "--seed"),
    maxMinutes: toNumber(opts.maxMinutes, "--max-minutes"),
    epochs: toNumber(opts.epochs, "--epochs"),
    batchSize: toNumber(opts.batchSize, "--batch-size"),
    batching: opts.batching,
    windows: opts.windows,
    learningRate: toNumber(opts.lr, "--lr"),
    adamBeta2: toNumber(opts.adamBeta2, "--adam-beta2"),
    loss: opts.loss,
    uniformNegatives: toNumber(opts.negatives, "--negatives"),
    temperature: toNumber(opts.temperature, "--temperature"),
    evalEvery: toNumber(opts.evalEvery, "--eval-every"),
    patience: toNumber(opts.patience, "--patience"),
    lrDecay: toNumber(opts.lrDecay, "--lr-decay"),
    lrPatience: toNumber(opts.lrPatience, "--lr-patience"),
    threads: intOption(opts.threads, "--threads", 1, MAX_THREADS),
    engagementTypes: (opts.engagementTypes ?? "")
      .split(",")
      .map((t) => t.trim())
      .filter((t) => t !== ""),
    engagementWeight: toNumber(opts.engagementWeight, "--engagement-weight"),
    advertiserWeight: toNumber(opts.advertiserWeight, "--advertiser-weight"),
    ...contextTrainOverrides(opts),
  });
  return { config, args };
}

/** A progress bar over the batches of the current epoch with loss, examples/s and ETA (TTY only). */
function trainBar(): { update: (p: TrainProgress) => void; stop: () => void } {
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      format:
        "epoch {epoch} [{bar}] {value}/{total} batches | loss {loss} | {exs} examples/s | ETA {eta_formatted}",
      fps: 5,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  let epoch = 0;
  return {
    update(p) {
      const payload = { epoch: p.epoch, loss: p.loss.toFixed(4), exs: p.examplesPerSecond.toFixed(0) };
      if (p.epoch !== epoch) {
        if (epoch !== 0) bar.stop();
        epoch = p.epoch;
        bar.start(p.batches, 0, payload);
      }
      bar.update(p.batch, payload);
    },
    stop: () => epoch !== 0 && bar.stop(),
  };
}

export function registerTrainCommand(program: Command): void {
  addContextTrainingOptions(
    addDataOptions(
      program
        .command("train")
        .description("train the contextual sequential two-tower model (loo split) and write a model folder"),
    ),
  )
    .requiredOption("--out <dir>", "model folder to write (replaced atomically)")
    .option("--no-context", "train the non-contextual baseline (the same model without the context layer)")
    .option("--seed <n>", "seed of every random choice", String(D.seed))
    .option("--max-minutes <m>", "wall-clock training budget in minutes", String(D.maxMinutes))
    .option("--epochs <n>", "maximum epochs", String(D.epochs))
    .option("--batch-size <n>", "sequences per batch", String(D.batchSize))
    .addOption(
      new Option(
        "--batching <how>",
        "rows per batch: of similar length (little padding) or a uniform random sample (as SASRec)",
      )
        .choices([...BATCHINGS])
        .default(D.batching),
    )
    .addOption(
      new Option(
        "--windows <which>",
        "training rows per user: its newest max-length events, or every max-length window of its history",
      )
        .choices([...WINDOWS])
        .default(D.windows),
    )
    .option("--lr <rate>", "Adam learning rate", String(D.learningRate))
    .option("--adam-beta2 <b>", "Adam β₂ (dense weights and the id table)", String(D.adamBeta2))
    .addOption(
      new Option(
        "--loss <kind>",
        "retrieval loss: full softmax over the catalogue, sampled (in-batch + uniform, logQ), or auto (full up to 65,536 items)",
      )
        .choices([...LOSS_CHOICES])
        .default(D.loss),
    )
    .option(
      "--negatives <n>",
      "uniform negatives per batch (mixed with in-batch; sampled loss only)",
      String(D.uniformNegatives),
    )
    .option("--temperature <t>", "softmax temperature", String(D.temperature))
    .option("--eval-every <n>", "epochs between validation evaluations", String(D.evalEvery))
    .option("--patience <n>", "evaluations without improvement before stopping", String(D.patience))
    .option(
      "--lr-decay <factor>",
      "multiply the learning rate by this on a validation plateau (1: constant)",
      String(D.lrDecay),
    )
    .option(
      "--lr-patience <n>",
      "evaluations without improvement before a learning-rate decay",
      String(D.lrPatience),
    )
    .option(
      "--threads <n>",
      `threads that train (1 to ${MAX_THREADS}): above 1, data-parallel worker threads, each with its own copy of the dense weights and a share of every batch (rows keep their dropout and pseudo-context whatever the thread count: the same model up to float rounding under the full softmax; default: the machine's cores)`,
      String(defaultTrainThreads()),
    )
    .option(
      "--engagement-types <types>",
      "comma-separated event types whose positives are engagement (auxiliary) examples; the others are conversions",
    )
    .option(
      "--engagement-weight <w>",
      "loss weight of an engagement positive (a conversion weighs 1)",
      String(D.engagementWeight),
    )
    .option(
      "--advertiser-weight <w>",
      "weight of the advertiser-level loss, a softmax over advertisers (0 = off; needs the full softmax)",
      String(D.advertiserWeight),
    )
    .option("--dim <d>", `width d of items, encoder and context (default ${MODEL_DEFAULTS.encoder.dim})`)
    .option("--blocks <n>", `Transformer blocks (default ${MODEL_DEFAULTS.encoder.blocks})`)
    .option("--heads <n>", `attention heads (default ${MODEL_DEFAULTS.encoder.heads})`)
    .option("--max-len <L>", `history length L (default ${MODEL_DEFAULTS.encoder.maxLen})`)
    .option("--dropout <rate>", `encoder dropout (default ${MODEL_DEFAULTS.encoder.dropout})`)
    .option("--ffn <n>", `feed-forward width of each block (default ${MODEL_DEFAULTS.encoder.ffn})`)
    .addOption(
      new Option(
        "--block <layout>",
        `Transformer block layout (default ${MODEL_DEFAULTS.encoder.block})`,
      ).choices([...ENCODER_BLOCKS]),
    )
    .addOption(
      new Option(
        "--init <scheme>",
        `initial scale of the embedding tables (default ${MODEL_DEFAULTS.encoder.init})`,
      ).choices([...EMBEDDING_INITS]),
    )
    .addOption(
      new Option(
        "--positions <anchor>",
        `position indices from a row's first event (start) or so that its latest is last (end) (default ${MODEL_DEFAULTS.encoder.positions})`,
      ).choices([...POSITION_ANCHORS]),
    )
    .option("--no-item-categories", "item tower: the id embedding alone, without the item's categories")
    .option("--no-time-gaps", "encoder: no time-gap embedding even where the data has timestamps")
    .addOption(new Option("--fusion <kind>", "fusion of sequence state and context").choices([...FUSIONS]))
    .addOption(
      new Option(
        "--tower <kind>",
        `user head and item tower: MLP alone, or DCNv2 cross layers beside it (default ${TOWER_DEFAULTS.kind})`,
      ).choices([...TOWERS]),
    )
    .option(
      "--cross-layers <n>",
      `DCNv2 cross layers, with --tower dcnv2 (default ${TOWER_DEFAULTS.crossLayers})`,
    )
    .option(
      "--cross-rank <r>",
      `rank of each cross layer's W = U·Vᵀ, 0 = full rank, with --tower dcnv2 (default ${TOWER_DEFAULTS.crossRank})`,
    )
    .option("--l2-normalize", "L2-normalise user and item embeddings (use with --temperature 0.07)")
    .option("--no-test", "skip the final test evaluation")
    .addOption(
      new Option(
        "--preset <name>",
        "a named flag set (flags given here win): shopping-cg = --no-context --tower dcnv2 --advertiser-weight 0.1 (where the catalogue names advertisers)",
      ).choices([...TRAIN_PRESETS]),
    )
    .action(async (opts: TrainOptions, cmd: Command) => {
      let { config, args } = resolveTraining(opts); // flag errors before the data set loads
      const { args: dataArgs, stop } = parseDataOptions(opts);
      const ds = await loadDataset(dataArgs).finally(stop);
      if (opts.preset !== undefined) {
        // TrainOptions is a plain record of commander's values; the preset writes some of them.
        for (const note of applyTrainPreset(opts.preset, opts as unknown as Record<string, unknown>, cmd, ds))
          process.stderr.write(note);
        ({ config, args } = resolveTraining(opts));
      }
      await initEngine();
      const busy = busyMachineWarning(args.threads);
      if (busy !== undefined) process.stderr.write(busy);
      const bar = trainBar();
      const result = await train(ds, config, args, {
        onProgress: (p) => bar.update(p),
        onValidation: (v) => {
          bar.stop();
          process.stderr.write(
            `epoch ${v.epoch}: validation NDCG@10 ${v.ndcg10.toFixed(4)} HIT@10 ${v.hit10.toFixed(4)} (loss ${v.trainLoss.toFixed(4)}, lr ${v.learningRate.toPrecision(3)}, ${(v.elapsedSeconds / 60).toFixed(1)} min)\n`,
          );
        },
      }).finally(() => bar.stop());
      const testMetrics: Record<string, number> = {};
      if (opts.test) {
        const test = await evaluateLoo(
          ds,
          createModelScorer(result.model, opts.context ? "ctxrec" : "ctxrec-baseline"),
        );
        for (const [k, v] of Object.entries(test.metrics)) testMetrics[`test/${k}`] = v;
        process.stdout.write(formatEvalTable(test));
      }
      // Weights, manifest and the ONNX exports for serving (skipped for a cross-attention head).
      const { manifest } = await saveTrainedModel(ds, opts.out, args, result, { extraMetrics: testMetrics });
      process.stdout.write(
        `trained ${result.epochs} epochs (${result.lossMode} softmax) in ${(result.trainSeconds / 60).toFixed(1)} min (${result.stopReason}; kept epoch ${result.bestEpoch})\nwrote ${opts.out} version ${manifest.version.slice(0, 12)}\n`,
      );
    });
}
