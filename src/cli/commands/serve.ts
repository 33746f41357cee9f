/**
 * `ctxrec serve --model DIR --index FILE --store URL --port N [--host 127.0.0.1]`: the candidate
 * service (src/serve, docs/serving.md). Loads one bundle (model + its ONNX export + index + the
 * store's active version, all checked to agree), listens, reloads on SIGHUP (or POST /admin/reload
 * from loopback), and closes cleanly on SIGINT/SIGTERM.
 *
 * Item countries (for `filter.country`) come from the model folder (saved with it by `ctxrec train`).
 * The optional data flags (`--format`/`--path`, as `ctxrec data stats`) override them with a data
 * set's, matched to the index rows by item id; a model folder written before item countries were
 * stored needs them for the filter.
 */
import type { Command } from "commander";
import { readModelVocabs, requireModelVocabs } from "../../offline/modelData.ts";
import { DEFAULT_MAX_K } from "../../serve/api.ts";
import { type BundleSource, type ItemCountries, loadBundle } from "../../serve/bundle.ts";
import { DEFAULT_HOST, MAX_K_CEILING } from "../../serve/limits.ts";
import { buildServer, reloadOnSignal } from "../../serve/server.ts";
import { BundleHandle, bundleLoader } from "../../serve/swap.ts";
import { createStoreCounters } from "../../store/featureStore.ts";
import { loadOptionalDataset } from "../dataOptions.ts";
import { intOption, toOptionalNumber } from "../numbers.ts";

interface ServeOptions {
  model: string;
  index: string;
  store: string;
  port: string;
  host: string;
  maxK: string;
  threads: string;
  efSearch?: string;
  logLevel: string;
  format?: string;
  path?: string;
  attributes?: string;
  skipInvalid?: boolean;
}

/** The item countries of the data set named by the data flags (the override), or undefined without them. */
async function itemCountries(opts: ServeOptions): Promise<ItemCountries | undefined> {
  const ds = await loadOptionalDataset(opts);
  if (ds === undefined) return undefined;
  // The override must describe the model's catalogue, as `index --model` requires.
  requireModelVocabs(ds, readModelVocabs(opts.model), opts.model);
  return {
    itemIds: ds.itemVocab.names,
    offsets: ds.itemCountryOffsets,
    countries: ds.itemCountries,
    countryNames: ds.demographics.country.vocab.names,
  };
}

export function registerServeCommand(program: Command): void {
  program
    .command("serve")
    .description(
      "serve candidates over HTTP: POST /v1/candidates, GET /healthz, GET /metrics, GET /openapi.json (docs/serving.md)",
    )
    .requiredOption("--model <dir>", "model folder with its ONNX export (`ctxrec train`, `ctxrec export`)")
    .requiredOption("--index <file>", "index artifact built for that model (`ctxrec index --model`)")
    .requiredOption(
      "--store <url>",
      "feature store holding the model's states: file:PATH, redis://HOST:PORT[/DB] or redis-cluster://HOST:PORT,…",
    )
    .option("--port <n>", "TCP port (0 = any free port)", "8080")
    .option("--host <addr>", "address to listen on", DEFAULT_HOST)
    .option(
      "--max-k <n>",
      `largest k a request may ask for (at most ${MAX_K_CEILING})`,
      String(DEFAULT_MAX_K),
    )
    .option("--threads <n>", "onnxruntime intra-op threads for the cold-start encoder run", "1")
    .option("--ef-search <n>", "HNSW ef at query time (default: the index artifact's)")
    .option("--log-level <level>", "pino level: fatal, error, warn, info, debug", "info")
    .option(
      "--format <format>",
      "optional: data set format, whose item countries override the model's for filter.country",
    )
    .option("--path <path>", "optional: data set path (with --format)")
    .option("--attributes <file>", "optional: s3rec attributes file (with --format s3rec)")
    .option("--skip-invalid", "optional: skip invalid data rows while reading item countries")
    .action(async (opts: ServeOptions) => {
      const port = intOption(opts.port, "--port", 0, 65_535);
      const maxK = intOption(opts.maxK, "--max-k", 1, MAX_K_CEILING);
      const threads = intOption(opts.threads, "--threads", 1, 256);
      const efSearch = toOptionalNumber(opts.efSearch, "--ef-search");
      const counters = createStoreCounters();
      const bundleOpts = { counters, threads, ...(efSearch !== undefined ? { efSearch } : {}) };
      const countries = await itemCountries(opts);
      const src: BundleSource = {
        modelDir: opts.model,
        indexPath: opts.index,
        storeUrl: opts.store,
        ...(countries !== undefined ? { itemCountries: countries } : {}),
      };
      const bundles = new BundleHandle(await loadBundle(src, bundleOpts), bundleLoader(bundleOpts));
      const app = buildServer(bundles, { maxK, logger: { level: opts.logLevel } });
      const address = await app.listen({ port, host: opts.host });
      const b = bundles.current;
      app.log.info(
        {
          address,
          modelVersion: b.modelVersion,
          index: { kind: b.index.manifest.kind, size: b.index.size },
          store: b.store.versionOf(),
          countryFilter:
            b.countryFilter === undefined ? "none" : countries !== undefined ? "data flags" : "model",
          // bin/ctxrec.js runs the build when one is fresh; this says which one is serving.
          runtime: import.meta.url.endsWith(".js") ? "compiled" : "typescript (tsx)",
          // performance.now() counts from the process's start: start-up to listening.
          startupMs: Math.round(performance.now()),
        },
        "ctxrec serve listening",
      );
      // One line on stdout for scripts (the bench waits for it).
      process.stdout.write(`listening on ${address}\n`);
      process.on("SIGHUP", () => void reloadOnSignal(app));
      const stop = async () => {
        await app.close();
        await bundles.closeAll();
        process.exit(0);
      };
      process.once("SIGINT", () => void stop());
      process.once("SIGTERM", () => void stop());
    });
}
