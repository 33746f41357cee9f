/**
 * The loop's stepper over `args.threads` worker threads (engine/dataParallel.ts with the replica of
 * parallelReplica.ts): the main thread keeps choosing the batches, validating, snapshotting and
 * saving; the workers train. The main model's id table IS the workers' shared table (updated in
 * place, row r by worker r mod W), so only its dense weights need `pull`ing from a worker.
 * Shapes: N items, d width.
 */

import type { CompiledDataset } from "../data/dataset.ts";
import { DataParallelTrainer } from "../engine/dataParallel.ts";
import { SparseEmbeddingTable } from "../engine/sparseEmbedding.ts";
import { assignDenseWeights, type CtxrecModel, denseWeights } from "../model/model.ts";
import { batchPositions, type ParallelReplicaConfig, type ParallelShared } from "./parallelReplica.ts";
import { type StepOutcome, type StepperShape, stepSetup } from "./step.ts";
import type { TrainArgs } from "./trainArgs.ts";

/** A stepper whose steps run on worker threads. */
export interface ParallelStepper extends StepperShape {
  /** One data-parallel step over the rows `batch` (indices into `rows`); loss of the whole batch. */
  step(batch: Int32Array): Promise<StepOutcome>;
  /** The learning rate of every worker's optimizers from the next step on. */
  setLearningRate(lr: number): void;
  /** Copies the workers' dense weights into the main model (its id table is always current). */
  pull(): Promise<void>;
  /** Terminates the workers (call once, also after an error). */
  dispose(): Promise<void>;
}

/** `file:` URL of the replica module beside this one (.ts under tsx, .js once compiled). */
function replicaModule(): string {
  const ext = import.meta.url.endsWith(".ts") ? "ts" : "js";
  return new URL(`./parallelReplica.${ext}`, import.meta.url).href;
}

/**
 * The id table of `m` on a SharedArrayBuffer of its own (a fresh model's already is; a table over
 * other memory is copied and `m` re-pointed to the copy).
 */
function sharedItemTable(m: CtxrecModel): SparseEmbeddingTable {
  const t = m.item.ids;
  const buf = t.values.buffer;
  if (
    buf instanceof SharedArrayBuffer &&
    t.values.byteOffset === 0 &&
    buf.byteLength === t.values.byteLength
  ) {
    return t;
  }
  const copy = new Float32Array(new SharedArrayBuffer(t.values.byteLength));
  copy.set(t.values);
  m.item.ids = SparseEmbeddingTable.over(t.name, t.rows, t.dim, copy);
  return m.item.ids;
}

/**
 * Starts `args.threads` workers training `m` on `ds` (each builds its copy from m's current
 * weights). Throws CTXREC_ERR_ENGINE with the worker's reason if one fails to start.
 */
export async function startParallelStepper(
  m: CtxrecModel,
  ds: CompiledDataset,
  args: TrainArgs,
): Promise<ParallelStepper> {
  const setup = stepSetup(m, ds, args);
  const table = sharedItemTable(m);
  const n = table.values.length;
  const shared: ParallelShared = {
    items: table.values.buffer as SharedArrayBuffer,
    m: new SharedArrayBuffer(n * 4),
    v: new SharedArrayBuffer(n * 4),
  };
  const config: ParallelReplicaConfig = {
    model: m.config,
    sizes: m.sizes,
    features: m.features,
    dense: denseWeights(m),
    ds,
    rows: setup.rows,
    args,
  };
  // Ids one worker looks up per step: all N under the full softmax; otherwise its history slots,
  // positives and uniform negatives (≤ 2·B·L + K), never more than N.
  const maxIds =
    setup.mode === "full"
      ? table.rows
      : Math.min(table.rows, 2 * args.batchSize * m.config.encoder.maxLen + args.uniformNegatives);
  const trainer = await DataParallelTrainer.start<Int32Array>({
    module: replicaModule(),
    config,
    shared: shared as Record<string, SharedArrayBuffer>,
    sparseTables: [{ dim: table.dim, maxIds }],
    workers: args.threads,
  });
  return {
    rows: setup.rows,
    lossMode: setup.mode,
    maxBatchPositions: setup.maxBatchPositions,
    async step(batch) {
      const r = await trainer.step(batch);
      return { loss: r.loss, examples: batchPositions(setup.rows, batch) };
    },
    setLearningRate: (lr) => trainer.setLearningRate(lr),
    async pull() {
      assignDenseWeights(m, await trainer.weights());
    },
    dispose: () => trainer.close(),
  };
}
