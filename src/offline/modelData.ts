/**
 * What the offline jobs check before they run a model over a data set: the model folder's id
 * vocabularies (vocab.json, written by `saveModel`) must be the data set's, code for code. The
 * encoder and the item tower address items and event types by code, so a data set with other ids
 * or another order would be encoded silently wrong; refusing it is the only safe answer (the same
 * rule as `ctxrec eval --model`).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { CtxrecError } from "../core/errors.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import type { ModelVocabs } from "../model/artifact.ts";

/** The id vocabularies of a model folder (without loading its weights). */
export function readModelVocabs(modelDir: string): ModelVocabs {
  const file = path.join(modelDir, "vocab.json");
  if (!existsSync(file)) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_MISSING_FILE",
      "no vocab.json: not a model folder (train one with `ctxrec train --out DIR`)",
      { file },
    );
  }
  try {
    return JSON.parse(readFileSync(file, "utf8")) as ModelVocabs;
  } catch (err) {
    throw new CtxrecError(
      "CTXREC_ERR_ARTIFACT_CORRUPT",
      `vocab.json is not valid JSON (${String(err)}); retrain or restore the model folder`,
      { file },
    );
  }
}

/** Index of the first difference of two id lists, or -1 when they are equal. */
function firstDifference(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/**
 * Throws CTXREC_ERR_DATA_UNKNOWN_ID unless the data set's item and event-type vocabularies equal the
 * model's (same ids, same codes). `dataPath` names the data in the message.
 */
export function requireModelVocabs(ds: CompiledDataset, vocabs: ModelVocabs, modelDir: string): void {
  const checks: [string, readonly string[], readonly string[]][] = [
    ["item", vocabs.items, ds.itemVocab.names],
    ["event type", vocabs.types, ds.typeVocab.names],
  ];
  for (const [what, model, data] of checks) {
    const i = firstDifference(model, data);
    if (i < 0) continue;
    const at =
      i < model.length && i < data.length
        ? `code ${i} is ${JSON.stringify(model[i])} in the model and ${JSON.stringify(data[i])} in the data`
        : `the model has ${model.length - 1} ${what} ids and the data ${data.length - 1}`;
    throw new CtxrecError(
      "CTXREC_ERR_DATA_UNKNOWN_ID",
      `the data set's ${what} ids differ from the model's (${at}); run on the data the model was trained on (${ds.source.path} was given)`,
      { file: path.join(modelDir, "vocab.json"), field: what === "item" ? "items" : "types" },
    );
  }
}
