/**
 * Loading a model folder for use on a data set: the checks every consumer needs before a model
 * scores anything (same item ids in the same order, same categories for a context layer, the
 * context rule it was trained with). Each error names the flag or parameter the folder came from.
 */
import { CtxrecError } from "../core/errors.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import { initEngine } from "../engine/backend.ts";
import { type LoadedModel, loadModel } from "./artifact.ts";

/** Whether two vocabularies list the same names in the same order (codes mean the same). */
export const sameNames = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((n, i) => n === b[i]);

/** Loads a model folder, refusing data whose item ids differ from the model's (`flag` names the folder's option). */
export async function loadModelFor(dir: string, ds: CompiledDataset, flag: string): Promise<LoadedModel> {
  await initEngine();
  const loaded = loadModel(dir);
  const { manifest, vocabs } = loaded;
  const names = ds.itemVocab.names;
  if (!sameNames(vocabs.items, names)) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_UNKNOWN_ID",
      `the model was trained on ${vocabs.items.length - 1} items and this data set has ${names.length - 1} with other ids or order; evaluate on the data the model was trained on (${manifest.data.path})`,
      { param: flag },
    );
  }
  return loaded;
}

/** The pseudo-context k the model was trained with (`training.args.pseudoContext.k` of its manifest). */
export function trainedContextK(loaded: LoadedModel, dir: string): number {
  const args = loaded.manifest.training.args as { pseudoContext?: { k?: unknown } } | undefined;
  const k = args?.pseudoContext?.k;
  if (!(typeof k === "number" && Number.isInteger(k) && k >= 1)) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `the model's manifest has no training.args.pseudoContext.k (got ${JSON.stringify(k)}), so the context rule it was trained with is unknown; use a folder written by ctxrec train`,
      { file: `${dir}/manifest.json`, field: "training.args.pseudoContext.k" },
    );
  }
  return k;
}
