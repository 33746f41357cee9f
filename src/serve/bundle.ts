/**
 * A serving bundle: ONE model version with everything a request needs from it, loaded fully before
 * it serves: the model's lookup tables, its ONNX online tower (and the encoder's empty-history state
 * for cold starts), the vector index built from its item tower, the per-country eligibility filters
 * for that index, and a read handle on the feature store's namespace of that version.
 *
 * `loadBundle` refuses parts that disagree on the model version (CTXREC_ERR_ARTIFACT_VERSION): the
 * model folder, its ONNX export, the index artifact and the store's ACTIVE version must all name
 * the same version, so a request can never fuse a state of one model with the towers of another.
 * Shapes: d width, N index rows.
 */
import { CtxrecError } from "../core/errors.ts";
import { CountryEligibility } from "../index/eligibility.ts";
import { ExactIndex } from "../index/exact.ts";
import { HnswIndex } from "../index/hnsw.ts";
import { loadVectorIndex } from "../index/load.ts";
import type { VectorIndex } from "../index/vectorIndex.ts";
import { type OnnxModelHandle, openOnnxModel } from "../onnx/runtime.ts";
import type { FeatureStore, StoreCounters } from "../store/featureStore.ts";
import { openFeatureStore } from "../store/open.ts";
import { describeStoreUrl, parseStoreUrl } from "../store/url.ts";
import { readServingTables, type ServingTables } from "./tables.ts";

/**
 * Eligible countries per item, as a data set or a model folder holds them
 * (`CompiledDataset.itemCountryOffsets` / `itemCountries`, or the model's `items/countryOffsets` /
 * `items/countries`, over item codes, codes in the country vocabulary). The vocabularies travel
 * with the arrays, so the filter is right even for a model whose vocabularies differ.
 */
export interface ItemCountries {
  /** Item code → item id (the data set's item vocabulary). */
  itemIds: readonly string[];
  /** `[N_items + 1]` offsets into `countries`; an item with none is eligible everywhere. */
  offsets: Int32Array;
  /** Country codes. */
  countries: Int32Array;
  /** Country code → country name (the data set's country vocabulary). */
  countryNames: readonly string[];
}

/** The country filter of a bundle: per-country eligibility over its index rows. */
export interface CountryFilter {
  eligibility: CountryEligibility;
  /** Country name → code. */
  codes: ReadonlyMap<string, number>;
}

/** Where a bundle is loaded from. */
export interface BundleSource {
  /** Model folder (`ctxrec train --out`), with its ONNX export (`ctxrec export`). */
  modelDir: string;
  /** Index artifact (`ctxrec index --model`). */
  indexPath: string;
  /** Feature store URL (`file:PATH` or `redis://…`). */
  storeUrl: string;
  /**
   * Item eligibility by country, overriding the model folder's (the data flags of `ctxrec serve`);
   * without either, `filter.country` cannot restrict anything.
   */
  itemCountries?: ItemCountries;
}

/** Loading options that are not part of a version (kept across hot swaps). */
export interface BundleOptions {
  /** Counters shared across bundles so refusals keep counting over swaps. */
  counters: StoreCounters;
  /** ORT intra-op threads (default: the runtime's). */
  threads?: number;
  /** HNSW ef at query time (default: the artifact's). */
  efSearch?: number;
}

export interface ServeBundle {
  /** The model version every part agrees on. */
  readonly modelVersion: string;
  readonly source: BundleSource;
  readonly tables: ServingTables;
  readonly model: OnnxModelHandle;
  readonly index: VectorIndex;
  readonly store: FeatureStore;
  /** Filters over the index rows; undefined when the item countries are unknown (neither given nor in the model). */
  readonly countryFilter: CountryFilter | undefined;
  /** `[d]` the encoder's state of an empty history: the cold-start path's h. */
  readonly emptyState: Float32Array;
  /** Unix ms when the bundle was loaded. */
  readonly loadedAt: number;
}

function mismatch(what: string, found: string, expected: string, fix: string, file: string): CtxrecError {
  return new CtxrecError(
    "CTXREC_ERR_ARTIFACT_VERSION",
    `${what} is for model version ${found.slice(0, 16)}…, the model folder is ${expected.slice(0, 16)}…; ${fix}`,
    { file, field: "modelVersion" },
  );
}

/**
 * Per-country filters over index ROWS from the countries of the data set's items: index row r
 * holds the item whose id is `ids[r]`; ids the data set does not list are eligible everywhere.
 */
export function countryFilterForIndex(ids: readonly string[], c: ItemCountries): CountryFilter {
  const items = new Map<string, number>();
  for (let i = 1; i < c.itemIds.length; i++) items.set(c.itemIds[i], i);
  const offsets = new Int32Array(ids.length + 1);
  const out: number[] = [];
  for (let r = 0; r < ids.length; r++) {
    const code = items.get(ids[r]);
    if (code !== undefined && code + 1 < c.offsets.length) {
      for (let j = c.offsets[code]; j < c.offsets[code + 1]; j++) out.push(c.countries[j]);
    }
    offsets[r + 1] = out.length;
  }
  const codes = new Map<string, number>();
  // Codes 0 and 1 are padding and "missing" (optional vocabularies), never a country.
  for (let i = 2; i < c.countryNames.length; i++) codes.set(c.countryNames[i], i);
  return { eligibility: new CountryEligibility(offsets, Int32Array.from(out)), codes };
}

/** The model folder's own item countries, or undefined for a folder written before they were stored. */
export function modelItemCountries(tables: ServingTables): ItemCountries | undefined {
  const c = tables.itemCountries;
  return c === undefined ? undefined : { itemIds: tables.itemIds, ...c };
}

/** Item ids of every index row. */
function indexIds(index: VectorIndex): readonly string[] {
  // Both implementations keep their ids; the interface exposes them through search results only.
  if (index instanceof ExactIndex || index instanceof HnswIndex) return index.ids;
  throw new CtxrecError("CTXREC_ERR_ARG", `index kind ${index.manifest.kind} does not expose its ids`, {
    param: "index",
  });
}

/** The store handle for `version`, refusing a store whose ACTIVE version is another one. */
async function openStoreFor(src: BundleSource, version: string, dim: number, opts: BundleOptions) {
  const url = parseStoreUrl(src.storeUrl);
  const store = await openFeatureStore(url, { modelVersion: version, dim, counters: opts.counters });
  const active = await store.activeVersion();
  if (active !== undefined && active !== version) {
    await store.close();
    opts.counters.versionRefusals++;
    throw mismatch(
      "the store's active version",
      active,
      version,
      "encode the users with this model (`ctxrec encode`, which activates it) or serve the active model",
      describeStoreUrl(url),
    );
  }
  return store;
}

/** Loads and cross-checks a whole bundle; nothing is left open when it throws. */
export async function loadBundle(src: BundleSource, opts: BundleOptions): Promise<ServeBundle> {
  const tables = readServingTables(src.modelDir);
  const version = tables.manifest.version;
  const model = await openOnnxModel(
    src.modelDir,
    opts.threads !== undefined ? { threads: opts.threads } : {},
  );
  let store: FeatureStore | undefined;
  try {
    if (model.version !== version) {
      throw mismatch(
        "the ONNX export",
        model.version,
        version,
        "re-export it with `ctxrec export --model DIR`",
        src.modelDir,
      );
    }
    const index = loadVectorIndex(src.indexPath, {
      modelVersion: version,
      ...(opts.efSearch !== undefined ? { efSearch: opts.efSearch } : {}),
    });
    if (index.dim !== model.dim) {
      throw new CtxrecError(
        "CTXREC_ERR_SHAPE",
        `index holds d=${index.dim} vectors, the model's user embeddings have d=${model.dim}; rebuild the index with \`ctxrec index --model\``,
        { file: src.indexPath, field: "dim" },
      );
    }
    store = await openStoreFor(src, version, model.dim, opts);
    const countries = src.itemCountries ?? modelItemCountries(tables);
    const countryFilter =
      countries !== undefined ? countryFilterForIndex(indexIds(index), countries) : undefined;
    // The cold-start state: the encoder over an empty history, computed once per bundle.
    const emptyState = await model.encoder.encode({
      B: 1,
      len: 1,
      items: new Int32Array(1),
      types: new Int32Array(1),
      gaps: new Int32Array(1),
      lengths: new Int32Array(1),
    });
    return {
      modelVersion: version,
      source: src,
      tables,
      model,
      index,
      store,
      countryFilter,
      emptyState: emptyState.slice(0, model.dim),
      loadedAt: Date.now(),
    };
  } catch (err) {
    await store?.close();
    await model.close();
    throw err;
  }
}

/** Releases the bundle's native sessions and store connection (the index is freed by GC). */
export async function closeBundle(b: ServeBundle): Promise<void> {
  await Promise.allSettled([b.store.close(), b.model.close()]);
}
