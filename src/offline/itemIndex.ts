/**
 * The item side of the offline batch (`ctxrec index --model`): the item tower's embeddings of the
 * whole catalogue become a vector index (HNSW with inner-product scores, or the exact reference)
 * whose manifest names the model version, and its ANN recall@K against exact search is measured on
 * the built index.
 *
 * Shapes: N items (padding row excluded), d width, Q recall queries, K neighbours.
 */
import { CtxrecError } from "../core/errors.ts";
import { Rng } from "../core/rng.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import { CountryEligibility, type Eligibility } from "../index/eligibility.ts";
import { ExactIndex } from "../index/exact.ts";
import { HnswIndex, type HnswIndexArgs } from "../index/hnsw.ts";
import type { ItemEmbeddings, VectorIndex } from "../index/vectorIndex.ts";

/**
 * Item embeddings with their ids from the item tower output `vectors` and the model's item
 * vocabulary `itemNames` (code 0 = padding). Accepts the output with the padding row (`[N+1, d]`,
 * row 0 dropped) or without it (`[N, d]`); rows are item codes 1..N in order.
 */
export function catalogueEmbeddings(
  vectors: Float32Array,
  itemNames: readonly string[],
  dim: number,
): ItemEmbeddings {
  const n = itemNames.length - 1;
  if (vectors.length === (n + 1) * dim) return { vectors: vectors.slice(dim), ids: itemNames.slice(1), dim };
  if (vectors.length === n * dim) return { vectors, ids: itemNames.slice(1), dim };
  throw new CtxrecError(
    "CTXREC_ERR_SHAPE",
    `the item tower returned ${vectors.length} values; expected [${n}, ${dim}] or [${n + 1}, ${dim}] for the model's ${n} items`,
    { param: "item tower output" },
  );
}

/**
 * Item → country CSR over item codes as a model folder stores it (`ModelItemCountries`, read by
 * `readServingTables`): `[N+2]` offsets with the padding row, and country codes.
 */
export interface ItemCountryCsr {
  offsets: Int32Array;
  countries: Int32Array;
}

/** The CSR of a data set or of a model folder. */
function csrOf(src: CompiledDataset | ItemCountryCsr): ItemCountryCsr {
  return "itemCountryOffsets" in src
    ? { offsets: src.itemCountryOffsets, countries: src.itemCountries }
    : src;
}

/**
 * Per-country eligibility over the index rows (row r = item code r + 1) from the item countries of
 * the data set or the model folder (CSR over item codes, `[N+2]` offsets with the padding row).
 */
export function catalogueCountries(src: CompiledDataset | ItemCountryCsr): CountryEligibility {
  const c = csrOf(src);
  // Dropping offset 0 re-bases the CSR on item code 1 = row 0; the values stay absolute positions.
  return new CountryEligibility(c.offsets.subarray(1), c.countries);
}

/** Arguments of `buildItemIndex`: the kind plus HNSW's own arguments (ignored for "exact"). */
export interface ItemIndexArgs extends HnswIndexArgs {
  kind: "hnsw" | "exact";
}

/** Builds the index; returns it with the build time in seconds. */
export function buildItemIndex(
  items: ItemEmbeddings,
  args: ItemIndexArgs,
): { index: ExactIndex | HnswIndex; seconds: number } {
  const started = performance.now();
  const { kind, ...hnsw } = args;
  const index =
    kind === "exact"
      ? ExactIndex.build(items, { modelVersion: args.modelVersion })
      : HnswIndex.build(items, hnsw);
  return { index, seconds: (performance.now() - started) / 1000 };
}

/** Recall figures of an index against exact search. */
export interface RecallReport {
  k: number;
  queries: number;
  /** Mean over queries of |ANN top-K ∩ exact top-K| / min(K, eligible). */
  recall: number;
  /** Same with each query restricted to one country (round-robin over the countries), when given. */
  filteredRecall?: number;
}

/**
 * `[Q, d]` recall queries: Q item embeddings drawn with a seeded Rng. The user embeddings the
 * service sends live in the same space (scores are u · v), and drawing from the catalogue needs
 * nothing but the index itself.
 */
export function sampleQueries(items: ItemEmbeddings, q: number, seed: number): Float32Array {
  const n = items.ids.length;
  const d = items.dim;
  const rng = new Rng(seed);
  const out = new Float32Array(q * d);
  for (let i = 0; i < q; i++) {
    const r = rng.int(n);
    out.set(items.vectors.subarray(r * d, (r + 1) * d), i * d);
  }
  return out;
}

/** Default number of recall queries: 1000, fewer for large N so the exact scans stay ≈ 2·10⁸ multiply-adds. */
export function defaultRecallQueries(n: number, dim: number): number {
  return Math.max(50, Math.min(1000, Math.floor(2e8 / Math.max(1, n * dim))));
}

function overlap(got: Int32Array, truth: Int32Array): number {
  const want = new Set(truth);
  let hits = 0;
  for (const r of got) if (want.has(r)) hits++;
  return hits;
}

/**
 * Recall@`k` of `index` against `exact` (the same items) over `queries` `[Q, d]`; with `countries`,
 * also with each query filtered by one of `countryCodes` in turn.
 */
export function measureRecall(
  index: VectorIndex,
  exact: VectorIndex,
  queries: Float32Array,
  k: number,
  countries?: { eligibility: CountryEligibility; codes: readonly number[] },
): RecallReport {
  const d = index.dim;
  const Q = queries.length / d;
  let sum = 0;
  let fsum = 0;
  let fcount = 0;
  for (let q = 0; q < Q; q++) {
    const query = queries.subarray(q * d, (q + 1) * d);
    const truth = exact.search(query, k);
    sum += overlap(index.search(query, k).rows, truth.rows) / Math.max(1, truth.rows.length);
    if (countries !== undefined && countries.codes.length > 0) {
      const filter: Eligibility = countries.eligibility.forCountry(
        countries.codes[q % countries.codes.length],
      );
      const ftruth = exact.search(query, k, filter);
      if (ftruth.rows.length > 0) {
        fsum += overlap(index.search(query, k, filter).rows, ftruth.rows) / ftruth.rows.length;
        fcount++;
      }
    }
  }
  const report: RecallReport = { k, queries: Q, recall: Q > 0 ? sum / Q : 1 };
  if (countries !== undefined) report.filteredRecall = fcount > 0 ? fsum / fcount : 1;
  return report;
}

/**
 * Recall@`k` (default 10) of `index`, built over `items`, against exact search over the same items
 * (what `ctxrec index --model` and the pipeline's index stage report): `queries` item-embedding
 * queries (default `defaultRecallQueries`) drawn with `seed` (default 0); with `countries` (the
 * model folder's item countries) or else `ds` (the data set of the catalogue), also with each query
 * filtered by one of its restricting countries in turn.
 */
export function recallAgainstExact(
  index: VectorIndex,
  items: ItemEmbeddings,
  opts: {
    queries?: number;
    seed?: number;
    k?: number;
    ds?: CompiledDataset;
    countries?: ItemCountryCsr;
  } = {},
): RecallReport {
  const exact = ExactIndex.build(items, { modelVersion: index.manifest.modelVersion });
  const q = opts.queries ?? defaultRecallQueries(items.ids.length, items.dim);
  const src = opts.countries ?? opts.ds;
  const countries =
    src === undefined ? undefined : { eligibility: catalogueCountries(src), codes: restrictedCountries(src) };
  return measureRecall(index, exact, sampleQueries(items, q, opts.seed ?? 0), opts.k ?? 10, countries);
}

/** Country codes that restrict at least one item (the filters that can differ from "everything"). */
export function restrictedCountries(src: CompiledDataset | ItemCountryCsr): number[] {
  return [...new Set(csrOf(src).countries)].sort((a, b) => a - b);
}
