/**
 * Approximate inner-product index: an HNSW graph from a native library (`hnswBackends.ts`) plus
 * what the libraries leave to us:
 *
 * - optional MIPS transform (`mips.ts`); OFF by default because it measured worse: on clustered,
 *   unnormalised vectors (100k × 64) an `ip` graph reached recall@10 0.98 at ef 64 where the
 *   transformed graph reached 0.51 (usearch) / 0.53 (hnswlib). The appended coordinate is
 *   large for the many short vectors and swamps their angular differences, as Morozov & Babenko
 *   (NeurIPS 2018, "Non-metric similarity graphs for MIPS") also found;
 * - exact re-scoring: the graph proposes rows, we score them with the stored float32 vectors, so
 *   scores equal `ExactIndex`'s for the same items and ties order the same way;
 * - eligibility filters: a selective filter (≤ `exactBelow` eligible rows) is answered by an exact
 *   scan of just those rows (cheaper than the graph, and exact); otherwise the graph is searched
 *   with the library's native filter (hnswlib) or oversampled and post-filtered (usearch, whose
 *   binding has no filter), and an exact scan of the eligible rows backs up the rare query where
 *   the graph returns fewer than min(k, eligible) rows — so fewer than k only when fewer are eligible.
 *
 * Default backend: usearch. Measured at 100k × 64 (bench/results/ann-n100000.md, a shared 2-core
 * machine): it builds 2.1× faster (15.5 s on 2 threads vs 32.7 s; hnswlib-node inserts one point
 * at a time from JS arrays on one thread, which matters most at 1M), queries cost the same
 * (recall@10 0.955 / 0.969 / 0.982 at ef 16 / 32 / 64 for both, p50 55–75 µs at ef ≤ 32), and it
 * takes typed arrays. hnswlib's native filter is more accurate at 10% eligible (0.90 vs 0.86
 * recall@10) but 1.8× slower, as it calls back into JS for every visited node.
 */
import { CtxrecError, requireArg } from "../core/errors.ts";
import { deriveSeed } from "../core/rng.ts";
import { INDEX_FORMAT, writeIndexArtifact } from "./artifact.ts";
import type { Eligibility } from "./eligibility.ts";
import { dot, scanRows } from "./exact.ts";
import {
  type AnnGraph,
  buildGraph,
  type GraphParams,
  HNSW_BACKENDS,
  type HnswBackend,
  loadGraph,
} from "./hnswBackends.ts";
import { augmentItems, augmentQuery } from "./mips.ts";
import { sortCandidates } from "./topk.ts";
import {
  batchSize,
  checkItemEmbeddings,
  checkQuery,
  type IndexManifest,
  type ItemEmbeddings,
  type SearchResult,
  type VectorIndex,
} from "./vectorIndex.ts";

/** Arguments of `HnswIndex.build`; every field but `modelVersion` has a default. */
export interface HnswIndexArgs {
  /** Model version of the item tower that produced the vectors (goes into the manifest). */
  modelVersion: string;
  /** Native library. Default "usearch". */
  backend?: HnswBackend;
  /** HNSW M, links per node. Default 16. */
  m?: number;
  /** efConstruction. Default 128. */
  efConstruction?: number;
  /** ef at query time (≥ k is used when k is larger). Default 64. */
  efSearch?: number;
  /** Apply the MIPS norm-equalising transform (see the module comment). Default false. */
  mips?: boolean;
  /** Filters with at most this many eligible rows are answered by an exact scan. Default 4096. */
  exactBelow?: number;
  /** Seed (hnswlib level generator). Default 0. */
  seed?: number;
  /** usearch insert threads (0 = all cores). Default 0. */
  threads?: number;
  /** Called with (rows inserted, N) as the graph grows, for a progress bar. */
  onProgress?: (done: number, total: number) => void;
}

export const HNSW_DEFAULTS = {
  backend: "usearch" as HnswBackend,
  m: 16,
  efConstruction: 128,
  efSearch: 64,
  mips: false,
  exactBelow: 4096,
  seed: 0,
  threads: 0,
};

/** HNSW inner-product index (see the module comment). */
export class HnswIndex implements VectorIndex {
  readonly size: number;
  readonly dim: number;
  private readonly graphDim: number;
  private readonly qbuf: Float32Array;
  private readonly mips: boolean;
  private readonly exactBelow: number;

  private constructor(
    readonly manifest: IndexManifest,
    /** `[N, d]` original vectors, for exact re-scoring and filtered scans. */
    readonly vectors: Float32Array,
    readonly ids: readonly string[],
    private readonly graph: AnnGraph,
  ) {
    this.size = ids.length;
    this.dim = manifest.dim;
    this.mips = manifest.params.mips === true;
    this.exactBelow = Number(manifest.params.exactBelow);
    this.graphDim = this.mips ? this.dim + 1 : this.dim;
    this.qbuf = new Float32Array(this.graphDim);
  }

  /** Builds the graph over `items` (validated: unique ids, `[N, d]`, finite). */
  static build(items: ItemEmbeddings, args: HnswIndexArgs): HnswIndex {
    checkItemEmbeddings(items);
    const { onProgress, ...rest } = args;
    const a = { ...HNSW_DEFAULTS, ...definedOnly(rest) };
    requireArg(
      HNSW_BACKENDS.includes(a.backend),
      "backend",
      `backend must be one of ${HNSW_BACKENDS.join(", ")}, got '${a.backend}'`,
    );
    for (const [name, v, min] of [
      ["m", a.m, 2],
      ["efConstruction", a.efConstruction, 1],
      ["efSearch", a.efSearch, 1],
      ["exactBelow", a.exactBelow, 0],
      ["threads", a.threads, 0],
    ] as const) {
      requireArg(Number.isInteger(v) && v >= min, name, `${name} must be an integer ≥ ${min}, got ${v}`);
    }
    const n = items.ids.length;
    const d = items.dim;
    const graphVectors = a.mips ? augmentItems(items.vectors, n, d).vectors : items.vectors;
    const gp: GraphParams = {
      m: a.m,
      efConstruction: a.efConstruction,
      efSearch: a.efSearch,
      seed: deriveSeed(a.seed, "hnsw") >>> 0,
      threads: a.threads,
    };
    const graph = buildGraph(a.backend, graphVectors, n, a.mips ? d + 1 : d, gp, onProgress);
    const manifest: IndexManifest = {
      format: INDEX_FORMAT,
      kind: "hnsw",
      modelVersion: args.modelVersion,
      metric: "ip",
      count: n,
      dim: d,
      createdAt: new Date().toISOString(),
      params: {
        backend: a.backend,
        m: a.m,
        efConstruction: a.efConstruction,
        efSearch: a.efSearch,
        mips: a.mips,
        exactBelow: a.exactBelow,
        seed: gp.seed,
      },
    };
    return new HnswIndex(manifest, items.vectors, items.ids, graph);
  }

  /** Rebuilds from a loaded artifact; `efSearch` overrides the saved ef. */
  static fromArtifact(
    manifest: IndexManifest,
    vectors: Float32Array,
    ids: readonly string[],
    graphBytes: Uint8Array,
    efSearch?: number,
  ): HnswIndex {
    const p = manifest.params;
    const backend = String(p.backend) as HnswBackend;
    if (!HNSW_BACKENDS.includes(backend)) {
      throw new CtxrecError(
        "CTXREC_ERR_ARTIFACT_VERSION",
        `unknown HNSW backend '${backend}'; rebuild the index`,
        {
          field: "params.backend",
        },
      );
    }
    const gp: GraphParams = {
      m: Number(p.m),
      efConstruction: Number(p.efConstruction),
      efSearch: efSearch ?? Number(p.efSearch),
      seed: Number(p.seed),
      threads: 0,
    };
    const m = { ...manifest, params: { ...p, efSearch: gp.efSearch } };
    const graph = loadGraph(backend, graphBytes, p.mips === true ? manifest.dim + 1 : manifest.dim, gp);
    return new HnswIndex(m, vectors, ids, graph);
  }

  /** Changes ef for later searches (usearch: reloads its graph, so do it at start-up, not per request). */
  setEfSearch(ef: number): void {
    requireArg(Number.isInteger(ef) && ef >= 1, "efSearch", `efSearch must be an integer ≥ 1, got ${ef}`);
    this.graph.setEfSearch(ef);
    this.manifest.params.efSearch = ef;
  }

  search(query: Float32Array, k: number, filter?: Eligibility): SearchResult {
    checkQuery(query, this.dim, k, filter, this.size);
    return this.searchOne(query, k, filter);
  }

  searchBatch(queries: Float32Array, k: number, filter?: Eligibility): SearchResult[] {
    const b = batchSize(queries, this.dim);
    const d = this.dim;
    return Array.from({ length: b }, (_, q) => this.search(queries.subarray(q * d, (q + 1) * d), k, filter));
  }

  save(path: string): void {
    writeIndexArtifact(path, {
      manifest: this.manifest,
      ids: [...this.ids],
      vectors: this.vectors,
      graph: this.graph.toBytes(),
    });
  }

  private searchOne(query: Float32Array, k: number, filter?: Eligibility): SearchResult {
    const eligible = filter === undefined ? this.size : filter.count;
    const want = Math.min(k, eligible);
    if (want === 0) return this.result({ rows: new Int32Array(0), scores: new Float32Array(0) });
    if (filter !== undefined && eligible <= this.exactBelow) {
      return this.result(scanRows(this.vectors, this.dim, query, 0, want, this.size, filter));
    }
    const gq = this.mips ? augmentQuery(query, this.qbuf) : query;
    let rows: ArrayLike<number>;
    if (filter === undefined) rows = this.graph.search(gq, want);
    else if (this.graph.nativeFilter) rows = this.graph.search(gq, want, (r) => filter.has(r));
    else rows = this.oversample(gq, want, filter);
    if (rows.length < want) {
      // The graph could not reach enough rows (tiny or disconnected graph, narrow filter): be exact.
      return this.result(scanRows(this.vectors, this.dim, query, 0, want, this.size, filter));
    }
    const scores = new Float64Array(rows.length);
    for (let j = 0; j < rows.length; j++)
      scores[j] = dot(query, 0, this.vectors, rows[j] * this.dim, this.dim);
    return this.result(sortCandidates(rows, scores, want));
  }

  /**
   * Post-filtering for a library without a native filter: asks the graph for k' ≈ 3 · want / share
   * rows (share = eligible / N) and keeps the eligible ones; quadruples k' while too few survive,
   * giving up (→ exact scan) once k' would pass N/4, where a scan is the cheaper answer anyway.
   * Factor 3, measured (20k × 64, 10% eligible, K = 10, overlapping clusters): recall 0.91 at 1.5,
   * 0.95 at 3, 0.97 at 6, for 0.48 / 0.43 / 0.71 ms per query.
   */
  private oversample(gq: Float32Array, want: number, filter: Eligibility): ArrayLike<number> {
    const share = filter.count / this.size;
    let kk = Math.min(this.size, Math.ceil((want / share) * 3) + 16);
    for (;;) {
      const found = this.graph.search(gq, kk);
      const kept: number[] = [];
      for (let j = 0; j < found.length; j++) if (filter.has(found[j])) kept.push(found[j]);
      if (kept.length >= want || kk >= this.size || kk * 4 > this.size / 4) return kept;
      kk = Math.min(this.size, kk * 4);
    }
  }

  private result(top: { rows: Int32Array; scores: Float32Array }): SearchResult {
    return { rows: top.rows, scores: top.scores, ids: Array.from(top.rows, (r) => this.ids[r]) };
  }
}

/** `args` without the keys whose value is undefined, so spreading it keeps the defaults. */
function definedOnly<T extends object>(args: T): Partial<T> {
  return Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined)) as Partial<T>;
}
