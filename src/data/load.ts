/**
 * `loadDataset`: the one entry point that train, eval, encode and `data stats` share. Picks the
 * reader for a format, applies the bad-row policy and compiles the result.
 */
import { CtxrecError } from "../core/errors.ts";
import { loadDatasetArtifact } from "./artifact.ts";
import { DatasetBuilder } from "./builder.ts";
import type { CompiledDataset } from "./dataset.ts";
import type { ProgressFn } from "./lines.ts";
import { readCsvFolder } from "./readers/csv.ts";
import { readJsonlFolder } from "./readers/jsonl.ts";
import { readMovieLens100k } from "./readers/movielens.ts";
import { readS3Rec } from "./readers/s3rec.ts";

/** Input formats; "artifact" reloads a file written by `saveDataset` (`ctxrec data compile`). */
export const DATA_FORMATS = ["jsonl", "csv", "movielens-100k", "s3rec", "artifact"] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];

export interface LoadDatasetArgs {
  /** Input format. */
  format: DataFormat;
  /** A folder (jsonl, csv, movielens-100k), the sequence file (s3rec) or the artifact file. */
  path: string;
  /** s3rec only: the `*_item2attributes.json` file (attribute ids → categories). */
  attributes?: string;
  /** Skip and count invalid rows instead of failing on the first one. Default false. */
  skipInvalid?: boolean;
  /** Progress over bytes read, per file. */
  onProgress?: ProgressFn;
}

/** Reads and compiles a data set. Throws CtxrecError (DATA_* codes) with `file:line: field: reason`. */
export async function loadDataset(args: LoadDatasetArgs): Promise<CompiledDataset> {
  if (!(DATA_FORMATS as readonly string[]).includes(args.format)) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `unknown data format ${JSON.stringify(args.format)}; use one of ${DATA_FORMATS.join(", ")}`,
      { param: "format" },
    );
  }
  if (args.attributes !== undefined && args.format !== "s3rec") {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `an attributes file only applies to --format s3rec, not ${args.format}; drop --attributes`,
      { param: "attributes" },
    );
  }
  if (args.format === "artifact") return loadDatasetArtifact(args.path);
  const builder = new DatasetBuilder({ skipInvalid: args.skipInvalid });
  switch (args.format) {
    case "jsonl":
      await readJsonlFolder(args.path, builder, args.onProgress);
      break;
    case "csv":
      await readCsvFolder(args.path, builder, args.onProgress);
      break;
    case "movielens-100k":
      await readMovieLens100k(args.path, builder, args.onProgress);
      break;
    case "s3rec":
      await readS3Rec(args.path, args.attributes, builder, args.onProgress);
      break;
  }
  if (builder.eventCount === 0) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_EMPTY",
      `no valid events (${builder.report.invalidRows} invalid rows skipped); check the input`,
      { file: args.path },
    );
  }
  const source: CompiledDataset["source"] = { format: args.format, path: args.path };
  if (args.attributes !== undefined) source.attributes = args.attributes;
  return builder.finish(source);
}
