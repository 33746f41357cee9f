/**
 * The trained CGs of a competition (`--cg name=DIR`): any ctxrec model folder, with or without a
 * context layer, under a report label. Checked before anything long runs, and every error names
 * the flag and the CG: a duplicate or reserved label, a folder that does not exist or holds no
 * model, a model whose item vocabulary differs from the world's (its item codes would name other
 * items), and a context layer whose categories differ from the world's.
 */
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { CtxrecError } from "../core/errors.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import { loadModelFor, sameNames, trainedContextK } from "../model/loadFor.ts";
import { type CtxrecModel, disposeModel } from "../model/model.ts";
import type { ModelCgSpec } from "./modelGenerator.ts";

/** One `--cg name=DIR`: the report label and the model folder. */
export interface CgFolder {
  name: string;
  dir: string;
}

/** The option the specs come from, for error locations (the library form uses the same words). */
export const CG_FLAG = "--cg";

/** `--cg NAME` as an error location. */
export const cgParam = (name: string): string => `${CG_FLAG} ${name}`;

/**
 * Throws CTXREC_ERR_ARG for a duplicate label or one in `reserved` (labels the command gives its
 * own CGs, e.g. "ctxrec" for the contextual model a sweep or the demo trains).
 */
export function checkCgNames(specs: readonly CgFolder[], reserved: readonly string[] = []): void {
  const seen = new Set<string>();
  for (const { name } of specs) {
    if (reserved.includes(name)) {
      throw new CtxrecError(
        "CTXREC_ERR_ARG",
        `'${name}' is the name of a CG this command runs itself; label the folder otherwise`,
        { param: cgParam(name) },
      );
    }
    if (seen.has(name)) {
      throw new CtxrecError(
        "CTXREC_ERR_ARG",
        `CG name '${name}' is given twice; give each --cg its own name`,
        {
          param: cgParam(name),
        },
      );
    }
    seen.add(name);
  }
}

/** Throws CTXREC_ERR_DATA_MISSING_FILE unless `dir` is a folder with a model manifest. */
export function requireModelFolder(dir: string, name: string): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_MISSING_FILE",
      `model folder ${dir} does not exist; give --cg ${name}=DIR with a folder written by ctxrec train --out DIR`,
      { param: cgParam(name) },
    );
  }
  if (!existsSync(path.join(dir, "manifest.json"))) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_MISSING_FILE",
      `${dir} has no manifest.json, so it is not a model folder; give a folder written by ctxrec train --out DIR`,
      { param: cgParam(name) },
    );
  }
}

/** A loaded competitor: the CG spec and the version it was loaded at. */
export interface LoadedCg {
  spec: ModelCgSpec;
  dir: string;
  /** Manifest version (content hash). */
  version: string;
  /** Whether the model has a context layer. */
  contextual: boolean;
}

/**
 * Loads `spec.dir` for the world compiled in `ds`: refuses a model trained on other items
 * (CTXREC_ERR_DATA_UNKNOWN_ID), and for a context layer other categories or no recorded context
 * rule. Nothing else about the model matters: a CG is judged by the items it returns.
 */
export async function loadCg(spec: CgFolder, ds: CompiledDataset): Promise<LoadedCg> {
  requireModelFolder(spec.dir, spec.name);
  const param = cgParam(spec.name);
  const loaded = await loadModelFor(spec.dir, ds, param);
  const contextual = loaded.model.context !== undefined;
  if (contextual && !sameNames(loaded.vocabs.categories, ds.categoryVocab.names)) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_UNKNOWN_ID",
      `the model's ${loaded.vocabs.categories.length - 1} categories differ from this world's ${ds.categoryVocab.size - 1}; use a model trained on this world (${loaded.manifest.data.path})`,
      { param },
    );
  }
  return {
    spec: {
      name: spec.name,
      model: loaded.model,
      contextK: contextual ? trainedContextK(loaded, spec.dir) : undefined,
      version: loaded.manifest.version,
    },
    dir: spec.dir,
    version: loaded.manifest.version,
    contextual,
  };
}

/** Loads every spec after checking the labels (see `checkCgNames`); frees what it loaded on failure. */
export async function loadCgs(
  specs: readonly CgFolder[],
  ds: CompiledDataset,
  reserved: readonly string[] = [],
): Promise<LoadedCg[]> {
  checkCgNames(specs, reserved);
  for (const s of specs) requireModelFolder(s.dir, s.name);
  const out: LoadedCg[] = [];
  try {
    for (const s of specs) out.push(await loadCg(s, ds));
  } catch (err) {
    disposeCgs(out);
    throw err;
  }
  return out;
}

/** Frees the loaded models' tensors. */
export function disposeCgs(cgs: readonly { spec: { model: CtxrecModel } }[]): void {
  for (const c of cgs) disposeModel(c.spec.model);
}
