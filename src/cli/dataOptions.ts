/**
 * The data-input options every command that reads a data set shares (`data stats`, and later
 * train, eval, encode): `--format`, `--path`, `--attributes`, `--skip-invalid`. Defined once here
 * and parsed into the typed `LoadDatasetArgs` of `loadDataset`.
 */
import cliProgress from "cli-progress";
import { type Command, Option } from "commander";
import { CtxrecError } from "../core/errors.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import { DATA_FORMATS, type DataFormat, type LoadDatasetArgs, loadDataset } from "../data/load.ts";

/** Raw commander values of the data options. */
export interface DataOptionValues {
  format: string;
  path: string;
  attributes?: string;
  skipInvalid?: boolean;
}

/** Adds the shared data-input options to `cmd` (returns it for chaining). */
export function addDataOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("--format <format>", "input format (see docs/data-formats.md)")
        .choices([...DATA_FORMATS])
        .makeOptionMandatory(),
    )
    .requiredOption(
      "--path <path>",
      "data folder (jsonl, csv, movielens-100k), sequence file (s3rec) or artifact file",
    )
    .option("--attributes <file>", "s3rec only: *_item2attributes.json (attribute ids become categories)")
    .option("--skip-invalid", "skip and count invalid rows instead of failing on the first one");
}

/**
 * Typed loader arguments from the option values. When stderr is a TTY, also returns a progress
 * bar over the bytes read (call `stop()` when loading is done).
 */
export function parseDataOptions(opts: DataOptionValues): { args: LoadDatasetArgs; stop: () => void } {
  if (!(DATA_FORMATS as readonly string[]).includes(opts.format)) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `unknown format ${JSON.stringify(opts.format)}; use one of ${DATA_FORMATS.join(", ")}`,
      {
        param: "--format",
      },
    );
  }
  const args: LoadDatasetArgs = {
    format: opts.format as DataFormat,
    path: opts.path,
    skipInvalid: opts.skipInvalid === true,
  };
  if (opts.attributes !== undefined) args.attributes = opts.attributes;
  if (!process.stderr.isTTY) return { args, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      format: "reading {file} [{bar}] {percentage}% | {value}/{total} bytes",
      fps: 5,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  let current = "";
  args.onProgress = (file, bytes, total) => {
    if (file !== current) {
      if (current !== "") bar.stop();
      current = file;
      bar.start(total, 0, { file });
    }
    bar.update(bytes, { file });
  };
  return { args, stop: () => current !== "" && bar.stop() };
}

/**
 * The data set named by optional data flags (commands whose data is an extra, e.g. item countries
 * for `index --model` and `serve`): undefined without `--format` and `--path`, loaded (with the
 * bytes bar) when both are given, refused when only one is.
 */
export async function loadOptionalDataset(
  opts: Partial<DataOptionValues>,
): Promise<CompiledDataset | undefined> {
  if (opts.format === undefined && opts.path === undefined) return undefined;
  if (opts.format === undefined || opts.path === undefined) {
    throw new CtxrecError("CTXREC_ERR_ARG", "give both --format and --path (or neither)", {
      param: opts.format === undefined ? "--format" : "--path",
    });
  }
  const { args, stop } = parseDataOptions({
    format: opts.format,
    path: opts.path,
    attributes: opts.attributes,
    skipInvalid: opts.skipInvalid,
  });
  return loadDataset(args).finally(stop);
}
