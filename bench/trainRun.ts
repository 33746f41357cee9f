/**
 * One row of the training benchmark, run in its own process so peak RSS is per row: the stepper
 * `ctxrec train` uses (`createStepper` at 1 thread, `startParallelStepper` above) on the real
 * ctxrec model, trained on a synthetic data set (the tests' toy world: users walking a cycle of
 * `items` items, every row L positions long). Prints one JSON line with the wall time of every
 * timed step; at 1 thread also the kernel time per op of one extra, profiled step (tf.profile).
 *
 *   npx tsx bench/trainRun.ts <full|sampled> <items> <threads> <steps> <warmup>
 *
 * The model is the reference shape (B 256, L 50, d 64, 2 blocks, 2 heads, FFN 256) as the
 * non-contextual baseline without item categories: id embeddings → pre-norm causal blocks →
 * final LN → residual MLP head (hidden 128), dropout 0.5, every position a target.
 * Note: the batch of 256 rows is given to the stepper whole. Under the full softmax `ctxrec train`
 * caps a batch at 2²⁴ logits (src/train/lossMode.ts: ≈ 90 rows of 50 at 3.7k items), so it would
 * cut such a batch in three; here both sides train the same 256-row batch.
 */
import * as tf from "@tensorflow/tfjs-core";
import { deriveSeed, Rng } from "../src/core/rng.ts";
import { initEngine } from "../src/engine/backend.ts";
import { resolveModelConfig } from "../src/model/config.ts";
import { itemFeaturesOf } from "../src/model/itemFeatures.ts";
import { createModel } from "../src/model/model.ts";
import { toyWorld } from "../src/model/testWorld.ts";
import { vocabSizesOf } from "../src/model/vocabSizes.ts";
import { lengthBucketedBatches } from "../src/train/examples.ts";
import { startParallelStepper } from "../src/train/parallelStepper.ts";
import { resolveTrainArgs } from "../src/train/trainArgs.ts";
import { createStepper } from "../src/train/trainer.ts";
import { addKernelTimes, topKernels } from "./kernelProfile.ts";

const REFERENCE = { batch: 256, L: 50 } as const;

const [loss, itemsArg, threadsArg, stepsArg, warmupArg] = process.argv.slice(2);
const [items, threads, steps, warmup] = [itemsArg, threadsArg, stepsArg, warmupArg].map(Number);
if (loss !== "full" && loss !== "sampled") throw new Error(`loss must be full or sampled, got ${loss}`);
await initEngine();
const { batch: B, L } = REFERENCE;
// Length L + 3: the leave-one-out split keeps the last two events for validation and test, and a
// train row of L + 1 events gives L inputs with L positives. Enough users that (nearly) every
// item of the cycle occurs, and at least 4 batches.
const users = Math.max(4 * B, Math.ceil((4 * items) / (L + 3)));
const ds = await toyWorld({ users, items, length: L + 3, seed: 1 });
const args = resolveTrainArgs({ seed: 1, batchSize: B, loss, threads });
const config = resolveModelConfig({
  context: { enabled: false },
  itemTower: { categories: false },
  encoder: { maxLen: L },
});
const m = createModel(config, vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(deriveSeed(args.seed, "init")));
const stepper = threads > 1 ? await startParallelStepper(m, ds, args) : createStepper(m, ds, args);
// One epoch's batches as the loop draws them, without the full softmax's cap (see above), cycled;
// every row has L positions, so only a last, partial batch can be shorter: it is left out.
const batches = lengthBucketedBatches(stepper.rows, B, new Rng(deriveSeed(args.seed, "batches"))).filter(
  (b) => b.length === B,
);
const batchAt = (i: number) => batches[i % batches.length];

for (let i = 0; i < warmup; i++) await stepper.step(batchAt(i));
const stepMs: number[] = [];
let lastLoss = 0;
let examples = 0;
const cpu0 = process.cpuUsage();
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  const r = await stepper.step(batchAt(warmup + i));
  stepMs.push(performance.now() - t0);
  lastLoss = r.loss;
  examples = r.examples;
}
const cpu = process.cpuUsage(cpu0);
let kernels: { name: string; msPerStep: number }[] | undefined;
if ("pull" in stepper) await stepper.dispose();
else {
  const byKernel = new Map<string, number>();
  const profile = await tf.profile(() => {
    stepper.step(batchAt(warmup + steps));
  });
  addKernelTimes(byKernel, profile);
  kernels = topKernels(byKernel, 1, 12);
  stepper.dispose();
}
console.log(
  JSON.stringify({
    engine: `ctxrec trainer (tfjs-wasm, ${threads === 1 ? "createStepper" : "startParallelStepper"})`,
    loss,
    items: ds.itemVocab.size,
    threads,
    batch: B,
    L,
    examplesPerStep: examples,
    stepMs,
    cpuMsPerStep: (cpu.user + cpu.system) / 1000 / steps,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    finalLoss: lastLoss,
    kernels,
  }),
);
