/**
 * One configuration of the training benchmark, run in its own process so peak RSS is per
 * configuration. Prints one JSON line. Used by bench/train.ts; run alone with
 * `npx tsx bench/trainRun.ts <vocab> <L> <steps> <warmup> [workers]` (workers > 1: data-parallel
 * over worker threads, src/engine/dataParallel.ts).
 */
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "../src/core/rng.ts";
import { initEngine } from "../src/engine/backend.ts";
import { DataParallelTrainer } from "../src/engine/dataParallel.ts";
import { LazyAdam } from "../src/engine/sparseEmbedding.ts";
import {
  createReferenceModel,
  randomBatch,
  referenceConfig,
  referenceLoss,
} from "../src/engine/testing/referenceModel.ts";
import {
  type ReferenceBatch,
  type ReferenceReplicaConfig,
  referenceShared,
} from "../src/engine/testing/referenceReplica.ts";
import { trainStep } from "../src/engine/trainStep.ts";

const [vocab, L, steps, warmup, workers = 1] = process.argv.slice(2).map(Number);
await initEngine();
if (workers > 1) {
  await runDataParallel();
  process.exit(0);
}
const cfg = referenceConfig(vocab, L);
const rng = new Rng(42);
const m = createReferenceModel(cfg, rng);
const opt = tf.train.adam(1e-3);
const sparse = new LazyAdam(m.table, { learningRate: 1e-3 });
const batches = Array.from({ length: steps + warmup + 1 }, () => randomBatch(cfg, rng));
const step = (i: number) =>
  trainStep({
    variables: m.variables,
    optimizer: opt,
    sparse: [{ table: m.table, optimizer: sparse, ids: [batches[i].history, batches[i].positives] }],
    loss: ([[h, p]]) => referenceLoss(m, h, p),
  });
for (let i = 0; i < warmup; i++) step(i);
let fwd = 0;
let bwd = 0;
let optMs = 0;
let loss = 0;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (let i = 0; i < steps; i++) {
  const r = step(warmup + i);
  fwd += r.forwardMs;
  bwd += r.backwardMs;
  optMs += r.optimizerMs;
  loss = r.loss;
}
const totalMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);

// Matmul throughput from one profiled step: FLOPs from the shapes, time from the kernel timer.
const prof = await tf.profile(() => {
  step(steps + warmup);
});
let mmMs = 0;
let mmFlops = 0;
for (const k of prof.kernels) {
  if (k.name !== "BatchMatMul") continue;
  const [a, b] = k.inputShapes;
  const out = k.outputShapes[0];
  const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
  const M = out[out.length - 2];
  const N = out[out.length - 1];
  const K = Math.max(size(a) * N, size(b) * M) / size(out);
  mmFlops += 2 * size(out) * K;
  mmMs += Number(k.kernelTimeMs);
}
const stepMs = totalMs / steps;
printRow("tfjs-wasm (ctxrec engine)", {
  stepMs,
  fwd,
  bwd,
  optMs,
  cpu,
  loss,
  matmul: { matmulGflops: mmFlops / (mmMs / 1000) / 1e9, matmulShareOfStep: mmMs / stepMs },
});

/** The same steps over `workers` threads (one wasm instance each, shared item table). */
async function runDataParallel(): Promise<void> {
  const config: ReferenceReplicaConfig = { cfg: referenceConfig(vocab, L), seed: 42, learningRate: 1e-3 };
  const { cfg } = config;
  const trainer = await DataParallelTrainer.start<ReferenceBatch>({
    module: new URL("../src/engine/testing/referenceReplica.ts", import.meta.url).href,
    config,
    shared: referenceShared(config),
    sparseTables: [{ dim: cfg.d, maxIds: cfg.batch * (cfg.L + 1) }],
    workers,
  });
  const rng = new Rng(42);
  const batches = Array.from({ length: steps + warmup }, () => randomBatch(cfg, rng));
  for (let i = 0; i < warmup; i++) await trainer.step(batches[i]);
  let fwd = 0;
  let bwd = 0;
  let optMs = 0;
  let loss = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    const r = await trainer.step(batches[warmup + i]);
    fwd += r.forwardMs;
    bwd += r.backwardMs;
    optMs += r.optimizerMs;
    loss = r.loss;
  }
  const stepMs = (performance.now() - t0) / steps;
  const cpu = process.cpuUsage(cpu0);
  await trainer.close();
  printRow(`tfjs-wasm (ctxrec engine, ${workers} worker threads)`, { stepMs, fwd, bwd, optMs, cpu, loss });
}

/** One result row as a JSON line on stdout (read by bench/train.ts); times are totals over `steps`. */
function printRow(
  engine: string,
  r: {
    stepMs: number;
    fwd: number;
    bwd: number;
    optMs: number;
    cpu: NodeJS.CpuUsage;
    loss: number;
    matmul?: { matmulGflops: number; matmulShareOfStep: number };
  },
): void {
  // Its own config: the data-parallel path runs before the module-level `cfg` is initialised.
  const { batch } = referenceConfig(vocab, L);
  console.log(
    JSON.stringify({
      engine,
      vocab,
      L,
      batch,
      steps,
      seqPerS: (batch * 1000) / r.stepMs,
      stepsPerS: 1000 / r.stepMs,
      msPerStep: r.stepMs,
      forwardMs: r.fwd / steps,
      backwardMs: r.bwd / steps,
      optimizerMs: r.optMs / steps,
      ...r.matmul,
      cpuMsPerStep: (r.cpu.user + r.cpu.system) / 1000 / steps,
      peakRssMB: process.resourceUsage().maxRSS / 1024,
      finalLoss: r.loss,
    }),
  );
}
