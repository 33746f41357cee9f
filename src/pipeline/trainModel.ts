/**
 * One training stage of a pipeline: train a model (contextual or the `--no-context` baseline) in
 * process, save its folder as `ctxrec train` does (manifest with the training summary) and, for a
 * servable model, its ONNX export. The caller keeps the in-memory model for evaluation.
 */
import type { CompiledDataset } from "../data/dataset.ts";
import { type ModelManifest, saveModel } from "../model/artifact.ts";
import { type ModelConfigOverrides, resolveModelConfig } from "../model/config.ts";
import type { CtxrecModel } from "../model/model.ts";
import { exportOnnx } from "../onnx/export.ts";
import { isServable } from "../onnx/online.ts";
import { resolveTrainArgs, type TrainArgs, type TrainArgsOverrides } from "../train/trainArgs.ts";
import { type TrainResult, train } from "../train/trainer.ts";
import type { StageProgress } from "./stages.ts";

/** What to train (the context layer is switched by `contextual`; everything else by the overrides). */
export interface TrainModelArgs {
  /** true: the contextual model; false: the baseline (same model, no context layer). */
  contextual: boolean;
  model?: ModelConfigOverrides;
  train?: TrainArgsOverrides;
  /** Write the ONNX export beside the weights (skipped for cross-attention, which cannot be served). Default true. */
  exportOnnx?: boolean;
}

/** A trained, saved model. */
export interface TrainedModel {
  model: CtxrecModel;
  manifest: ModelManifest;
  args: TrainArgs;
  result: TrainResult;
  /** Whether `dir/onnx/` was written. */
  exported: boolean;
}

/**
 * Trains on `ds` and saves the folder `dir`. Progress is reported as seconds of the wall-clock
 * budget used (`elapsed`, `maxMinutes·60`): the budget, not the epoch count, bounds a demo run.
 */
export async function trainModel(
  ds: CompiledDataset,
  dir: string,
  a: TrainModelArgs,
  progress: StageProgress = () => {},
): Promise<TrainedModel> {
  const config = resolveModelConfig({ ...a.model, context: { ...a.model?.context, enabled: a.contextual } });
  const args = resolveTrainArgs(a.train);
  const budget = Math.round(args.maxMinutes * 60);
  const result = await train(ds, config, args, {
    onProgress: (p) => progress(Math.min(budget, Math.round(p.elapsedSeconds)), budget),
  });
  const { manifest, exported } = await saveTrainedModel(ds, dir, args, result, { exportOnnx: a.exportOnnx });
  return { model: result.model, manifest, args, result, exported };
}

/**
 * Saves a training run as the folder `dir` (what `ctxrec train` and `trainModel` write): the kept
 * weights, a manifest with the training summary and the metrics (`validation/…` from the run, then
 * `extraMetrics` such as `test/…`), and, unless `exportOnnx` is false, the ONNX export (skipped for
 * a model `isServable` refuses: a cross-attention head, a `--subject-item` context layer).
 */
export async function saveTrainedModel(
  ds: CompiledDataset,
  dir: string,
  args: TrainArgs,
  result: TrainResult,
  opts: { extraMetrics?: Record<string, number>; exportOnnx?: boolean } = {},
): Promise<{ manifest: ModelManifest; exported: boolean }> {
  const metrics: Record<string, number> = {};
  for (const [k, v] of Object.entries(result.validation?.metrics ?? {})) metrics[`validation/${k}`] = v;
  Object.assign(metrics, opts.extraMetrics);
  const manifest = saveModel(dir, result.model, {
    dataset: ds,
    metrics,
    training: {
      args,
      lossMode: result.lossMode,
      loadAverage: result.loadAverage,
      epochs: result.epochs,
      bestEpoch: result.bestEpoch,
      stopReason: result.stopReason,
      trainMinutes: result.trainSeconds / 60,
      history: result.history,
    },
  });
  const exported = (opts.exportOnnx ?? true) && isServable(result.model);
  if (exported) await exportOnnx(dir);
  return { manifest, exported };
}

/** "12 epochs in 3.1 min (time-budget; kept epoch 10), validation NDCG@10 0.1234". */
export function describeTraining(t: TrainedModel): string {
  const r = t.result;
  const ndcg = r.validation?.metrics["ndcg@10"];
  return (
    `${r.epochs} epochs in ${(r.trainSeconds / 60).toFixed(1)} min (${r.stopReason}; kept epoch ${r.bestEpoch})` +
    (ndcg === undefined ? "" : `, validation NDCG@10 ${ndcg.toFixed(4)}`) +
    `, version ${t.manifest.version.slice(0, 12)}`
  );
}
