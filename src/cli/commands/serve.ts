/**
 * `ctxrec serve --model DIR --index FILE --store URL --port N [--host 127.0.0.1]`: the candidate
 * service (src/serve, docs/serving.md). Loads one bundle (model + its ONNX export + index + the
 * store's active version, all checked to agree), listens, reloads on SIGHUP (or POST /admin/reload
 * from loopback), and closes cleanly on SIGINT/SIGTERM.
 *
 * `--workers N` (N ≥ 2) runs N replicas of that service on one port with Node's `cluster` module
 * (src/serve/replicaPrimary.ts, replicaWorker.ts; docs/scale.md "Serving replicas"): this process
 * becomes the primary, which loads nothing itself, and every replica loads its own bundle. A
 * reload (SIGHUP to the primary, or POST /admin/reload on any replica) swaps all of them.
 *
 * Item countries (for `filter.country`) come from the model folder (saved with it by `ctxrec train`).
 * The optional data flags (`--format`/`--path`, as `ctxrec data stats`) override them with a data
 * set's, matched to the index rows by item id; a model folder written before item countries were
 * stored needs them for the filter.
 */
import cluster from "node:cluster";
import type { Command } from "commander";
import type { FastifyInstance } from "fastify";
import { readModelVocabs, requireModelVocabs } from "../../offline/modelData.ts";
import { DEFAULT_MAX_K } from "../../serve/api.ts";
import { type BundleSource, type ItemCountries, loadBundle } from "../../serve/bundle.ts";
import { DEFAULT_HOST, MAX_K_CEILING, MAX_WORKERS } from "../../serve/limits.ts";
import { createServeMetrics } from "../../serve/metrics.ts";
import { ReplicaPrimary } from "../../serve/replicaPrimary.ts";
import type { SourcePaths } from "../../serve/replicaProtocol.ts";
import { ReplicaLink, reportStartFailure, waitForStart } from "../../serve/replicaWorker.ts";
import { buildServer, reloadOnSignal, type ServerOptions } from "../../serve/server.ts";
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
  workers: string;
}

/** The numeric flags, checked once (in the primary too, before anything is forked). */
interface ServeNumbers {
  port: number;
  maxK: number;
  threads: number;
  efSearch: number | undefined;
  workers: number;
}

function serveNumbers(opts: ServeOptions): ServeNumbers {
  return {
    port: intOption(opts.port, "--port", 0, 65_535),
    maxK: intOption(opts.maxK, "--max-k", 1, MAX_K_CEILING),
    threads: intOption(opts.threads, "--threads", 1, 256),
    efSearch: toOptionalNumber(opts.efSearch, "--ef-search"),
    workers: intOption(opts.workers, "--workers", 1, MAX_WORKERS),
  };
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

/** The service's bundle, loaded from the flags with `paths` (a replica's current source) over them. */
async function openBundles(opts: ServeOptions, n: ServeNumbers, paths: SourcePaths = {}) {
  const counters = createStoreCounters();
  const bundleOpts = {
    counters,
    threads: n.threads,
    ...(n.efSearch !== undefined ? { efSearch: n.efSearch } : {}),
  };
  const countries = await itemCountries(opts);
  const src: BundleSource = {
    modelDir: opts.model,
    indexPath: opts.index,
    storeUrl: opts.store,
    ...paths,
    ...(countries !== undefined ? { itemCountries: countries } : {}),
  };
  const bundles = new BundleHandle(await loadBundle(src, bundleOpts), bundleLoader(bundleOpts));
  return { bundles, counters, countryFrom: countries !== undefined ? "data flags" : "model" };
}

/** Builds the server over `bundles`, listens, and logs what it serves; resolves with the address. */
async function listen(
  opts: ServeOptions,
  n: ServeNumbers,
  b: { bundles: BundleHandle; countryFrom: string },
  extra: Pick<ServerOptions, "metrics" | "scrape" | "reload"> & {
    port?: number;
    attach?: (app: FastifyInstance) => void;
  } = {},
): Promise<{ app: FastifyInstance; address: string }> {
  const { port, attach, ...serverOpts } = extra;
  const app = buildServer(b.bundles, { maxK: n.maxK, logger: { level: opts.logLevel }, ...serverOpts });
  attach?.(app);
  const address = await app.listen({ port: port ?? n.port, host: opts.host });
  const c = b.bundles.current;
  app.log.info(
    {
      address,
      modelVersion: c.modelVersion,
      index: { kind: c.index.manifest.kind, size: c.index.size },
      store: c.store.versionOf(),
      countryFilter: c.countryFilter === undefined ? "none" : b.countryFrom,
      // bin/ctxrec.js runs the build when one is fresh; this says which one is serving.
      runtime: import.meta.url.endsWith(".js") ? "compiled" : "typescript (tsx)",
      // performance.now() counts from the process's start: start-up to listening.
      startupMs: Math.round(performance.now()),
    },
    "ctxrec serve listening",
  );
  return { app, address };
}

/** Runs `fn` on the first of SIGINT/SIGTERM only (a terminal's Ctrl-C may bring both), then exits 0. */
function onStopSignals(fn: () => Promise<void>): void {
  let called = false;
  const stop = () => {
    if (called) return;
    called = true;
    void fn().then(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

/** Closes the server (after its requests) and then the bundle. */
function closeService(app: FastifyInstance, bundles: BundleHandle): () => Promise<void> {
  return async () => {
    await app.close();
    await bundles.closeAll();
  };
}

/** `--workers 1`: one process that serves, reloading on SIGHUP. */
async function serveOneProcess(opts: ServeOptions, n: ServeNumbers): Promise<void> {
  const b = await openBundles(opts, n);
  const { app, address } = await listen(opts, n, b);
  // One line on stdout for scripts (the bench waits for it).
  process.stdout.write(`listening on ${address}\n`);
  process.on("SIGHUP", () => void reloadOnSignal(app));
  onStopSignals(closeService(app, b.bundles));
}

/** `--workers N`, in the primary: forks the replicas, relays SIGHUP to all of them, stops them on SIGINT/SIGTERM. */
async function servePrimary(opts: ServeOptions, n: ServeNumbers): Promise<void> {
  const primary = new ReplicaPrimary({
    workers: n.workers,
    port: n.port,
    host: opts.host,
    logLevel: opts.logLevel,
  });
  // Before start: a terminal's SIGINT reaches the replicas too, and the primary must not restart them.
  onStopSignals(() => primary.stop());
  process.on("SIGHUP", () => void primary.reloadOnSignal());
  const address = await primary.start();
  if (address !== undefined) process.stdout.write(`listening on ${address}\n`);
}

/** `--workers N`, in a replica: loads the source the primary names and serves on its port. */
async function serveReplica(opts: ServeOptions, n: ServeNumbers): Promise<void> {
  // SIGHUP would end the process by default; reloads come from the primary, for all replicas at once.
  process.on("SIGHUP", () => {});
  const start = await waitForStart();
  try {
    const b = await openBundles(opts, n, start.source);
    const link = new ReplicaLink(b.bundles, createServeMetrics(b.counters));
    const { app, address } = await listen(opts, n, b, {
      ...link.serverOptions(),
      port: start.port,
      attach: (a) => link.attach(a),
    });
    link.ready(address);
    onStopSignals(closeService(app, b.bundles));
  } catch (err) {
    // The primary reports it (once, as a single process would) and decides whether to retry.
    await reportStartFailure(err);
    process.exit(2);
  }
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
    .option(
      "--workers <n>",
      `serving replicas on the one port (Node cluster, at most ${MAX_WORKERS}); 1 = a single process (docs/scale.md)`,
      "1",
    )
    .action(async (opts: ServeOptions) => {
      const n = serveNumbers(opts);
      if (n.workers === 1) await serveOneProcess(opts, n);
      else if (cluster.isPrimary) await servePrimary(opts, n);
      else await serveReplica(opts, n);
    });
}
