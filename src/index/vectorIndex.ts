/**
 * The vector index interface: top-K items by INNER PRODUCT over item-tower embeddings, with an
 * optional eligibility filter at query time, and save/load of a versioned artifact.
 *
 * Shapes (glossary in core/shapes.ts): N items, d width, K candidates, B queries.
 * Implementations: `ExactIndex` (the reference, brute force) and `HnswIndex` (approximate).
 * One contract suite (`contract.ts`) checks both against an argsort.
 */
import { CtxrecError, requireArg } from "../core/errors.ts";
import { assertLength } from "../core/shapes.ts";
import type { Eligibility } from "./eligibility.ts";

/** Top-K answer for one query, best first (scores non-increasing). */
export interface SearchResult {
  /** Item rows (0..N-1, positions in the embedding matrix) `[≤K]`. */
  rows: Int32Array;
  /** Item ids of those rows `[≤K]`. */
  ids: string[];
  /** Inner products u · v_item `[≤K]`, exact float32 dot products of the stored vectors. */
  scores: Float32Array;
}

/** Item embeddings to index: a row-major matrix and the id of each row. */
export interface ItemEmbeddings {
  /** `[N, d]` row-major float32. */
  vectors: Float32Array;
  /** `[N]` item ids, unique. */
  ids: readonly string[];
  /** d. */
  dim: number;
}

/** What ties an index artifact to the model whose item tower produced its vectors. */
export interface IndexManifest {
  /** Artifact format; a reader refuses another one. */
  format: number;
  /** Implementation that wrote it ("exact" or "hnsw"). */
  kind: string;
  /** Model version (the model artifact's content hash) of the item tower. */
  modelVersion: string;
  /** Always "ip": scores are inner products. */
  metric: "ip";
  /** N. */
  count: number;
  /** d. */
  dim: number;
  /** ISO time the index was built. */
  createdAt: string;
  /** Implementation parameters (e.g. HNSW M, ef, backend, MIPS transform). */
  params: Record<string, string | number | boolean>;
}

/** A built or loaded index. Searches are synchronous and read-only, so one index serves many requests. */
export interface VectorIndex {
  readonly manifest: IndexManifest;
  /** N. */
  readonly size: number;
  /** d. */
  readonly dim: number;
  /**
   * Top-`k` rows by inner product with `query` `[d]`, restricted to `filter` when given.
   * Returns min(k, eligible count) results (an approximate index may return fewer only if its graph
   * cannot reach them; ours then falls back to an exact scan of the eligible rows).
   * Throws CTXREC_ERR_SHAPE for a query of another length, CTXREC_ERR_NUMERIC for NaN/∞ in it.
   */
  search(query: Float32Array, k: number, filter?: Eligibility): SearchResult;
  /** `search` for each of B queries in `[B, d]` row-major. */
  searchBatch(queries: Float32Array, k: number, filter?: Eligibility): SearchResult[];
  /** Writes the index to ONE file atomically (temp file + fsync + rename). */
  save(path: string): void;
}

/** Throws CTXREC_ERR_ARG unless the ids are N unique strings and the vectors `[N, d]` are finite. */
export function checkItemEmbeddings(items: ItemEmbeddings): void {
  const { vectors, ids, dim } = items;
  requireArg(Number.isInteger(dim) && dim > 0, "dim", `dim must be a positive integer, got ${dim}`);
  assertLength(vectors, ids.length * dim, `vectors [N=${ids.length}, d=${dim}]`);
  const seen = new Set<string>();
  for (let i = 0; i < ids.length; i++) {
    if (seen.has(ids[i])) {
      throw new CtxrecError(
        "CTXREC_ERR_ARG",
        `item id '${ids[i]}' at row ${i} appears twice; ids must be unique`,
        {
          param: "ids",
        },
      );
    }
    seen.add(ids[i]);
  }
  for (let j = 0; j < vectors.length; j++) {
    if (!Number.isFinite(vectors[j])) {
      throw new CtxrecError(
        "CTXREC_ERR_NUMERIC",
        `value ${vectors[j]} at row ${Math.floor(j / dim)}, column ${j % dim} is not finite; check the item tower output`,
        { param: "vectors" },
      );
    }
  }
}

/** Throws CTXREC_ERR_SHAPE / _NUMERIC / _ARG unless `query` is `[d]` finite and k a positive integer. */
export function checkQuery(
  query: Float32Array,
  dim: number,
  k: number,
  filter?: Eligibility,
  size?: number,
): void {
  requireArg(Number.isInteger(k) && k > 0, "k", `k must be a positive integer, got ${k}`);
  assertLength(query, dim, "query [d]");
  for (let j = 0; j < dim; j++) {
    if (!Number.isFinite(query[j])) {
      throw new CtxrecError("CTXREC_ERR_NUMERIC", `value ${query[j]} at index ${j} is not finite`, {
        param: "query",
      });
    }
  }
  if (filter !== undefined && size !== undefined && filter.size !== size) {
    throw new CtxrecError(
      "CTXREC_ERR_SHAPE",
      `filter covers ${filter.size} items but the index holds ${size}; build filters for this index version`,
      { param: "filter" },
    );
  }
}

/** Throws CTXREC_ERR_SHAPE unless `queries` is `[B, d]`; returns B. */
export function batchSize(queries: Float32Array, dim: number): number {
  if (queries.length % dim !== 0) {
    throw new CtxrecError(
      "CTXREC_ERR_SHAPE",
      `expected a multiple of d = ${dim} values ([B, d]), received ${queries.length}`,
      { param: "queries" },
    );
  }
  return queries.length / dim;
}

/** Throws CTXREC_ERR_ARTIFACT_VERSION unless the manifest names `expected` as its model version. */
export function requireModelVersion(manifest: IndexManifest, expected: string, file: string): void {
  if (manifest.modelVersion !== expected) {
    throw new CtxrecError(
      "CTXREC_ERR_ARTIFACT_VERSION",
      `index built for model version '${manifest.modelVersion}', expected '${expected}'; rebuild it with \`ctxrec index\` for this model`,
      { file, field: "modelVersion" },
    );
  }
}
