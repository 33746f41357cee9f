/**
 * Where a real training step spends its time: runs `ctxrec train`'s own stepper (the default model
 * and loss, or the flags below) on a data set for a few batches of one epoch's order and prints the
 * kernel time per op (tf.profile) and the wall time per step. Writes bench/results/step-profile.json
 * and step-profile.md.
 *
 *   npx tsx bench/stepProfile.ts --format s3rec --path Beauty.txt --attributes Beauty_item2attributes.json
 *     [--no-context] [--steps 6]
 */
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { deriveSeed, Rng } from "../src/core/rng.ts";
import { type DataFormat, loadDataset } from "../src/data/load.ts";
import { initEngine } from "../src/engine/backend.ts";
import { resolveModelConfig } from "../src/model/config.ts";
import { itemFeaturesOf } from "../src/model/itemFeatures.ts";
import { createModel } from "../src/model/model.ts";
import { vocabSizesOf } from "../src/model/vocabSizes.ts";
import { lengthBucketedBatches } from "../src/train/examples.ts";
import { resolveTrainArgs } from "../src/train/trainArgs.ts";
import { createStepper } from "../src/train/trainer.ts";
import { addKernelTimes, topKernels } from "./kernelProfile.ts";

const { values: opts } = parseArgs({
  options: {
    format: { type: "string" },
    path: { type: "string" },
    attributes: { type: "string" },
    "no-context": { type: "boolean", default: false },
    steps: { type: "string", default: "6" },
  },
});
if (opts.format === undefined || opts.path === undefined) {
  throw new Error(
    "usage: bench/stepProfile.ts --format FORMAT --path PATH [--attributes FILE] [--no-context]",
  );
}
await initEngine();
const ds = await loadDataset({
  format: opts.format as DataFormat,
  path: opts.path,
  ...(opts.attributes === undefined ? {} : { attributes: opts.attributes }),
});
const args = resolveTrainArgs({ seed: 1 });
const config = resolveModelConfig({ context: { enabled: !opts["no-context"] } });
const m = createModel(config, vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(deriveSeed(args.seed, "init")));
const stepper = createStepper(m, ds, args);
const batches = lengthBucketedBatches(
  stepper.rows,
  args.batchSize,
  new Rng(deriveSeed(args.seed, "batches")),
  stepper.maxBatchPositions,
);
const steps = Math.min(Number(opts.steps), batches.length - 1);
stepper.step(batches[0]); // warm-up: heap growth, kernel set-up

const byKernel = new Map<string, number>();
let wallMs = 0;
let examples = 0;
for (let i = 1; i <= steps; i++) {
  const t0 = performance.now();
  const profile = await tf.profile(() => {
    examples += stepper.step(batches[i]).examples;
  });
  wallMs += performance.now() - t0;
  addKernelTimes(byKernel, profile);
}
const kernels = topKernels(byKernel, steps);
const kernelMs = kernels.reduce((s, k) => s + k.msPerStep, 0);
const load = loadavg()[0];
const summary = {
  dataset: `${opts.format}:${opts.path}`,
  model: opts["no-context"] ? "baseline" : "context",
  items: ds.itemVocab.size,
  steps,
  examplesPerStep: +(examples / steps).toFixed(0),
  wallMsPerStep: +(wallMs / steps).toFixed(0),
  kernelMsPerStep: +kernelMs.toFixed(0),
  load: +load.toFixed(2),
  kernels,
};
console.log(JSON.stringify({ ...summary, kernels: kernels.slice(0, 12) }, null, 2));
const out = new URL(`./results/step-profile-${summary.model}.`, import.meta.url);
writeFileSync(`${out.pathname}json`, `${JSON.stringify(summary, null, 2)}\n`);
const md = [
  `# Training step profile (\`bench/stepProfile.ts\`): ${summary.model}, ${ds.itemVocab.size} items`,
  "",
  `${steps} steps of ${summary.examplesPerStep} real positions on average; wall ${summary.wallMsPerStep} ms/step, kernels ${summary.kernelMsPerStep} ms/step (profiling adds overhead); 1-minute load ${summary.load} (2 cores).`,
  "",
  "| kernel | ms/step | share |",
  "|---|---:|---:|",
  ...kernels
    .slice(0, 20)
    .map(
      (k) => `| ${k.name} | ${k.msPerStep} | ${((100 * k.msPerStep) / Math.max(1, kernelMs)).toFixed(0)}% |`,
    ),
];
writeFileSync(`${out.pathname}md`, `${md.join("\n")}\n`);
