/**
 * `ctxrec index --model DIR --out FILE`: the item side of the offline batch. Runs the model's ONNX
 * item tower over its whole catalogue, builds an inner-product index (HNSW by default) whose
 * manifest carries the model version, writes it atomically, and prints the build time and ANN
 * recall@10 against exact search on the built index.
 *
 * Item countries (for the filtered recall) come from the model folder. The optional data flags
 * (`--format … --path …`, the data the model was trained on) check the item ids against the model
 * and override its countries; a model folder written before item countries were stored needs them
 * for the filtered recall.
 */
import { type Command, Option } from "commander";
import { CtxrecError } from "../../core/errors.ts";
import { DATA_FORMATS } from "../../data/load.ts";
import { HNSW_DEFAULTS } from "../../index/hnsw.ts";
import { HNSW_BACKENDS, type HnswBackend } from "../../index/hnswBackends.ts";
import {
  buildItemIndex,
  catalogueEmbeddings,
  recallAgainstExact,
  restrictedCountries,
} from "../../offline/itemIndex.ts";
import { readModelVocabs, requireModelVocabs } from "../../offline/modelData.ts";
import { openOfflineModel } from "../../offline/openModel.ts";
import { readServingTables } from "../../serve/tables.ts";
import { loadOptionalDataset } from "../dataOptions.ts";
import { formatCount, toNumber, toOptionalNumber } from "../numbers.ts";
import { progressBar } from "../progress.ts";

interface IndexModelOptions {
  model?: string;
  out?: string;
  kind: string;
  backend: string;
  m?: string;
  efConstruction?: string;
  efSearch?: string;
  threads: string;
  seed: string;
  recallQueries?: string;
  format?: string;
  path?: string;
  attributes?: string;
  skipInvalid?: boolean;
}

/**
 * Adds the `--model` form to the `index` command (`indexCmd`, whose subcommands are `build` and
 * `info`). The parent's options reuse names of `build`'s (`--out`, `--kind`, …), so options are made
 * positional: the parent only parses options before a subcommand name. Commander hands the parent
 * everything after the program's first operand unless the program is positional too, hence the
 * call on `program` (it has no options of its own, so nothing else changes).
 */
export function registerIndexModelAction(program: Command, indexCmd: Command): void {
  program.enablePositionalOptions();
  indexCmd
    .enablePositionalOptions()
    .option("--model <dir>", "trained model folder: index its item tower's embeddings of the catalogue")
    .option("--out <file>", "with --model: index file to write (replaced atomically)")
    .option("--kind <kind>", "with --model: hnsw | exact", "hnsw")
    .option(
      "--backend <name>",
      `with --model: HNSW library, ${HNSW_BACKENDS.join(" | ")}`,
      HNSW_DEFAULTS.backend,
    )
    .option("--m <n>", `with --model: HNSW links per node (default ${HNSW_DEFAULTS.m})`)
    .option(
      "--ef-construction <n>",
      `with --model: HNSW build list (default ${HNSW_DEFAULTS.efConstruction})`,
    )
    .option("--ef-search <n>", `with --model: HNSW search list (default ${HNSW_DEFAULTS.efSearch})`)
    .option("--threads <n>", "with --model: onnxruntime and usearch threads", "2")
    .option("--seed <n>", "with --model: seed (hnswlib levels, recall queries)", "0")
    .option(
      "--recall-queries <n>",
      "with --model: queries for recall@10 vs exact (default: 1000, fewer for large N)",
    )
    .addOption(
      new Option(
        "--format <format>",
        "optional data flags (the model's training data): check item ids; its item countries override the " +
          "model's for the filtered recall",
      ).choices([...DATA_FORMATS]),
    )
    .option("--path <path>", "optional: data folder or file, with --format")
    .option("--attributes <file>", "optional: s3rec attributes file")
    .option("--skip-invalid", "optional: skip and count invalid data rows")
    .action(async (opts: IndexModelOptions) => {
      if (opts.model === undefined) {
        indexCmd.help({ error: true });
        return;
      }
      await indexFromModel(opts);
    });
}

async function indexFromModel(opts: IndexModelOptions): Promise<void> {
  const dir = opts.model as string;
  if (opts.out === undefined) {
    throw new CtxrecError("CTXREC_ERR_ARG", "give --out FILE, the index file to write", { param: "--out" });
  }
  if (opts.kind !== "hnsw" && opts.kind !== "exact") {
    throw new CtxrecError("CTXREC_ERR_ARG", `'${opts.kind}' is not hnsw or exact`, { param: "--kind" });
  }
  const threads = toNumber(opts.threads, "--threads");
  const seed = toNumber(opts.seed, "--seed");
  const vocabs = readModelVocabs(dir);
  const ds = await loadOptionalDataset(opts);
  if (ds !== undefined) requireModelVocabs(ds, vocabs, dir);
  // The model's own item countries (no tfjs); the data flags, checked above, override them.
  const countries = ds === undefined ? readServingTables(dir).itemCountries : undefined;

  const handle = await openOfflineModel(dir, threads);
  let vectors: Float32Array;
  const towerStart = performance.now();
  try {
    vectors = await handle.itemTower.embedAll();
  } finally {
    await handle.close();
  }
  const towerS = (performance.now() - towerStart) / 1000;
  const items = catalogueEmbeddings(vectors, vocabs.items, handle.dim);

  const bar = progressBar("index", "items");
  const { index, seconds } = (() => {
    try {
      return buildItemIndex(items, {
        kind: opts.kind,
        modelVersion: handle.version,
        backend: opts.backend as HnswBackend,
        m: toOptionalNumber(opts.m, "--m"),
        efConstruction: toOptionalNumber(opts.efConstruction, "--ef-construction"),
        efSearch: toOptionalNumber(opts.efSearch, "--ef-search"),
        threads,
        seed,
        onProgress: (done, total) => bar.update(done, total),
      });
    } finally {
      bar.stop();
    }
  })();
  index.save(opts.out);
  const n = items.ids.length;
  process.stdout.write(
    `${opts.kind} index: ${formatCount(n)} items × d=${items.dim}, model ${handle.version.slice(0, 12)}, ` +
      `item tower ${towerS.toFixed(2)} s, built in ${seconds.toFixed(2)} s → ${opts.out}\n`,
  );
  if (opts.kind === "hnsw") {
    const r = recallAgainstExact(index, items, {
      queries: toOptionalNumber(opts.recallQueries, "--recall-queries"),
      seed,
      ds,
      countries,
    });
    const csr = countries ?? ds;
    const filtered =
      r.filteredRecall === undefined || csr === undefined
        ? ""
        : `, with a country filter ${r.filteredRecall.toFixed(3)} (${restrictedCountries(csr).length} countries, round-robin)`;
    process.stdout.write(
      `recall@10 vs exact: ${r.recall.toFixed(3)} over ${r.queries} item-embedding queries (ef ${index.manifest.params.efSearch})${filtered}\n`,
    );
  }
}
