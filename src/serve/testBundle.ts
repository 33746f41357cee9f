/**
 * Test helper (not exported from the package): a complete serving setup on a tiny synthetic world,
 * built in a few seconds: a model with seeded (untrained) weights saved as an artifact and exported
 * to ONNX, every user's state encoded into a `file:` store with the ONNX encoder (`encodeIntoStore`, what
 * `ctxrec encode` runs) and activated, and exact and HNSW indexes over the ONNX item tower.
 * Untrained weights are enough: the tests check plumbing and parity, not quality.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Rng } from "../core/rng.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import { loadDataset } from "../data/load.ts";
import { initEngine } from "../engine/backend.ts";
import { ExactIndex } from "../index/exact.ts";
import { HnswIndex } from "../index/hnsw.ts";
import type { ItemEmbeddings } from "../index/vectorIndex.ts";
import { saveModel } from "../model/artifact.ts";
import { type ModelConfigOverrides, resolveModelConfig } from "../model/config.ts";
import { itemFeaturesOf } from "../model/itemFeatures.ts";
import { type CtxrecModel, createModel } from "../model/model.ts";
import { vocabSizesOf } from "../model/vocabSizes.ts";
import { encodeIntoStore } from "../offline/encodeUsers.ts";
import { exportOnnx } from "../onnx/export.ts";
import { openOnnxModel } from "../onnx/runtime.ts";
import { createStoreCounters } from "../store/featureStore.ts";
import { generateWorld } from "../synth/generate.ts";
import { type ItemCountries, loadBundle } from "./bundle.ts";
import { buildServer, type ServerOptions } from "./server.ts";
import { BundleHandle, bundleLoader } from "./swap.ts";

export interface ServeFixture {
  root: string;
  ds: CompiledDataset;
  /** The tfjs model the artifact was saved from (the reference). */
  model: CtxrecModel;
  modelDir: string;
  version: string;
  storeUrl: string;
  exactPath: string;
  hnswPath: string;
  itemCountries: ItemCountries;
  /** `[N, d]` ONNX item embeddings of items 1..N (index rows). */
  items: ItemEmbeddings;
  cleanup(): void;
}

/** A small model: d = 16, one block, L = 10. */
export const TINY_CONFIG: ModelConfigOverrides = {
  encoder: { dim: 16, blocks: 1, heads: 2, ffn: 32, maxLen: 10 },
  context: { dim: 16, demographicDim: 4 },
  fusion: { hidden: 32 },
};

/** The tiny world as a compiled data set (generated into `root/world`). */
export async function tinyWorld(root: string, seed: number): Promise<CompiledDataset> {
  const world = path.join(root, "world");
  await generateWorld({ preset: "tiny", seed, outDir: world });
  return loadDataset({ format: "jsonl", path: world });
}

/** Trains nothing: saves a seeded model for `ds` to `modelDir`, exports ONNX; returns it and its version. */
export async function saveTinyModel(
  ds: CompiledDataset,
  modelDir: string,
  seed: number,
): Promise<{ model: CtxrecModel; version: string }> {
  await initEngine();
  const model = createModel(
    resolveModelConfig(TINY_CONFIG),
    vocabSizesOf(ds),
    itemFeaturesOf(ds),
    new Rng(seed),
  );
  const version = saveModel(modelDir, model, { dataset: ds }).version;
  await exportOnnx(modelDir);
  return { model, version };
}

/** Encodes every user into `storeUrl` and builds `exactPath` / `hnswPath` for the model in `modelDir`. */
export async function publishModel(
  ds: CompiledDataset,
  modelDir: string,
  storeUrl: string,
  exactPath: string,
  hnswPath: string,
): Promise<ItemEmbeddings> {
  const onnx = await openOnnxModel(modelDir);
  try {
    await encodeIntoStore(ds, onnx, storeUrl, { activate: true });
    const all = await onnx.itemTower.embedAll();
    // Row 0 is padding: index rows are items 1..N.
    const items: ItemEmbeddings = {
      vectors: all.slice(onnx.dim),
      ids: ds.itemVocab.names.slice(1),
      dim: onnx.dim,
    };
    ExactIndex.build(items, { modelVersion: onnx.version }).save(exactPath);
    HnswIndex.build(items, { modelVersion: onnx.version, m: 8, efConstruction: 64, efSearch: 32 }).save(
      hnswPath,
    );
    return items;
  } finally {
    await onnx.close();
  }
}

export function itemCountriesOf(ds: CompiledDataset): ItemCountries {
  return {
    itemIds: ds.itemVocab.names,
    offsets: ds.itemCountryOffsets,
    countries: ds.itemCountries,
    countryNames: ds.demographics.country.vocab.names,
  };
}

/** The whole setup in a fresh temp folder. */
export async function makeServeFixture(seed = 3): Promise<ServeFixture> {
  const root = mkdtempSync(path.join(os.tmpdir(), "ctxrec-serve-"));
  const ds = await tinyWorld(root, seed);
  const modelDir = path.join(root, "model");
  const { model, version } = await saveTinyModel(ds, modelDir, seed);
  const storeUrl = `file:${path.join(root, "state.db")}`;
  const exactPath = path.join(root, "items-exact.ctxidx");
  const hnswPath = path.join(root, "items-hnsw.ctxidx");
  const items = await publishModel(ds, modelDir, storeUrl, exactPath, hnswPath);
  return {
    root,
    ds,
    model,
    modelDir,
    version,
    storeUrl,
    exactPath,
    hnswPath,
    itemCountries: itemCountriesOf(ds),
    items,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** A `BundleHandle` over the fixture's model, exact index and store (close with `closeAll`). */
export async function fixtureBundles(fx: ServeFixture): Promise<BundleHandle> {
  const opts = { counters: createStoreCounters() };
  const src = {
    modelDir: fx.modelDir,
    indexPath: fx.exactPath,
    storeUrl: fx.storeUrl,
    itemCountries: fx.itemCountries,
  };
  return new BundleHandle(await loadBundle(src, opts), bundleLoader(opts));
}

/** A fixture served by an in-process server (`app.inject()`); `close()` releases all of it. */
export interface ServedFixture {
  fx: ServeFixture;
  bundles: BundleHandle;
  app: ReturnType<typeof buildServer>;
  close(): Promise<void>;
}

/** `makeServeFixture(seed)` behind `buildServer(…, options)`. */
export async function servedFixture(seed: number, options: ServerOptions = {}): Promise<ServedFixture> {
  const fx = await makeServeFixture(seed);
  const bundles = await fixtureBundles(fx);
  const app = buildServer(bundles, options);
  return {
    fx,
    bundles,
    app,
    async close() {
      await app.close();
      await bundles.closeAll();
      fx.cleanup();
    },
  };
}

/** Paths of a second model version published beside a fixture's, in its own store. */
export interface AlternateBundle {
  modelDir: string;
  storeUrl: string;
  exactPath: string;
  hnswPath: string;
  version: string;
}

/**
 * Another seeded model on the fixture's data (`root/<name>-…`) with its own store and indexes, so
 * reloads can go from the fixture's bundle to this one and back (each store's active version stays
 * its model's).
 */
export async function publishAlternate(
  fx: ServeFixture,
  seed: number,
  name: string,
): Promise<AlternateBundle> {
  const modelDir = path.join(fx.root, `${name}-model`);
  const { version } = await saveTinyModel(fx.ds, modelDir, seed);
  const storeUrl = `file:${path.join(fx.root, `${name}-state.db`)}`;
  const exactPath = path.join(fx.root, `${name}-items-exact.ctxidx`);
  const hnswPath = path.join(fx.root, `${name}-items-hnsw.ctxidx`);
  await publishModel(fx.ds, modelDir, storeUrl, exactPath, hnswPath);
  return { modelDir, storeUrl, exactPath, hnswPath, version };
}
