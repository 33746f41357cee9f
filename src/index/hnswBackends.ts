/**
 * Thin adapters over the two native HNSW libraries, behind one small interface so `HnswIndex`
 * (MIPS transform, filters, exact re-scoring, artifact) is written once:
 *
 * - `usearch@2.25.3` (Unum): typed-array API, multi-threaded batch insert, SIMD distances. Its
 *   Node binding has NO filtered search and fixes `expansion_search` at construction (we construct
 *   a fresh index and load the bytes to change it).
 * - `hnswlib-node@3.0.0` (hnswlib): single-threaded `addPoint` with JS arrays, `setEf` at any time,
 *   and a native filter callback (a JS call per visited candidate).
 *
 * Labels are item rows 0..N-1. Both serialize only to files, so bytes go through a temp folder.
 * Which one is the default, and why: docs/vector-index.md (measured by bench/ann.ts).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import hnswlib from "hnswlib-node";
import usearch, { type Index as UsearchIndex } from "usearch";
import { wrapError } from "../core/errors.ts";

export const HNSW_BACKENDS = ["usearch", "hnswlib"] as const;
export type HnswBackend = (typeof HNSW_BACKENDS)[number];

/** Graph parameters shared by both libraries. */
export interface GraphParams {
  /** Max links per node (HNSW M; usearch "connectivity"). */
  m: number;
  /** Candidate list size while inserting (efConstruction; usearch "expansion_add"). */
  efConstruction: number;
  /** Candidate list size while searching (ef; usearch "expansion_search"). */
  efSearch: number;
  /** Seed of hnswlib's level generator (usearch has none; its single-threaded build is deterministic). */
  seed: number;
  /** Insert threads for usearch (0 = all cores); hnswlib-node inserts on one thread. */
  threads: number;
}

/** A built graph over N vectors `[N, D]` (D = d, or d+1 after the MIPS transform). */
export interface AnnGraph {
  /** Whether `search` honours `accept` inside the graph walk (else the caller post-filters). */
  readonly nativeFilter: boolean;
  /** Up to k labels (rows), nearest first by the library's inner-product distance. */
  search(query: Float32Array, k: number, accept?: (row: number) => boolean): ArrayLike<number>;
  /** Sets ef for later searches. */
  setEfSearch(ef: number): void;
  /** The library's serialized graph. */
  toBytes(): Uint8Array;
}

/** Rows inserted between progress reports. */
const PROGRESS_CHUNK = 8192;

/** Builds a graph over `[n, dim]` vectors with inner-product distance, reporting rows inserted. */
export function buildGraph(
  backend: HnswBackend,
  vectors: Float32Array,
  n: number,
  dim: number,
  p: GraphParams,
  onProgress?: (done: number, total: number) => void,
): AnnGraph {
  try {
    if (backend === "usearch") {
      const index = newUsearch(dim, p);
      // Inserted in chunks only so progress can be reported; each chunk still uses `threads` threads.
      for (let start = 0; start < n; start += PROGRESS_CHUNK) {
        const end = Math.min(n, start + PROGRESS_CHUNK);
        const keys = new BigUint64Array(end - start);
        for (let i = start; i < end; i++) keys[i - start] = BigInt(i);
        index.add(keys, vectors.subarray(start * dim, end * dim), p.threads);
        onProgress?.(end, n);
      }
      return new UsearchGraph(index, dim, p);
    }
    const index = new hnswlib.HierarchicalNSW("ip", dim);
    index.initIndex({
      maxElements: Math.max(1, n),
      m: p.m,
      efConstruction: p.efConstruction,
      randomSeed: p.seed,
    });
    for (let i = 0; i < n; i++) {
      index.addPoint(Array.from(vectors.subarray(i * dim, (i + 1) * dim)), i);
      if ((i + 1) % PROGRESS_CHUNK === 0 || i + 1 === n) onProgress?.(i + 1, n);
    }
    index.setEf(p.efSearch);
    return new HnswlibGraph(index, dim);
  } catch (err) {
    throw wrapError(
      "CTXREC_ERR_STORE",
      err,
      `${backend} failed to build the HNSW graph; check M, ef and memory`,
    );
  }
}

/** Restores a graph from `toBytes()` output. */
export function loadGraph(backend: HnswBackend, bytes: Uint8Array, dim: number, p: GraphParams): AnnGraph {
  return withTempFile((file) => {
    writeFileSync(file, bytes);
    try {
      if (backend === "usearch") {
        const index = newUsearch(dim, p);
        index.load(file);
        return new UsearchGraph(index, dim, p);
      }
      const index = new hnswlib.HierarchicalNSW("ip", dim);
      index.readIndexSync(file);
      index.setEf(p.efSearch);
      return new HnswlibGraph(index, dim);
    } catch (err) {
      throw wrapError(
        "CTXREC_ERR_ARTIFACT_CORRUPT",
        err,
        `${backend} could not read the graph; rebuild the index`,
      );
    }
  });
}

function newUsearch(dim: number, p: GraphParams): UsearchIndex {
  return new usearch.Index({
    dimensions: dim,
    metric: usearch.MetricKind.IP,
    quantization: usearch.ScalarKind.F32,
    connectivity: p.m,
    expansion_add: p.efConstruction,
    expansion_search: p.efSearch,
    multi: false,
  });
}

function withTempFile<T>(fn: (file: string) => T): T {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ctxrec-hnsw-"));
  try {
    return fn(path.join(dir, "graph.bin"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

class UsearchGraph implements AnnGraph {
  readonly nativeFilter = false;

  constructor(
    private index: UsearchIndex,
    private readonly dim: number,
    private readonly params: GraphParams,
  ) {}

  search(query: Float32Array, k: number): ArrayLike<number> {
    if (this.index.size() === 0) return [];
    // threads = 1: one query is microseconds of work; a thread pool hand-off would dominate it.
    const keys = this.index.search(query, Math.min(k, this.index.size()), 1).keys;
    const out = new Int32Array(keys.length);
    let m = 0;
    // usearch pads missing results with the max key (2^64 − 1); keep only real rows.
    for (let j = 0; j < keys.length; j++) if (keys[j] < 0xffffffffn) out[m++] = Number(keys[j]);
    return out.subarray(0, m);
  }

  setEfSearch(ef: number): void {
    if (ef === this.params.efSearch) return;
    // The binding fixes expansion_search at construction: rebuild the wrapper around the same bytes.
    const bytes = this.toBytes();
    const p = { ...this.params, efSearch: ef };
    this.index = (loadGraph("usearch", bytes, this.dim, p) as UsearchGraph).index;
    this.params.efSearch = ef;
  }

  toBytes(): Uint8Array {
    return withTempFile((file) => {
      this.index.save(file);
      return new Uint8Array(readFileSync(file));
    });
  }
}

class HnswlibGraph implements AnnGraph {
  readonly nativeFilter = true;

  constructor(
    private readonly index: hnswlib.HierarchicalNSW,
    readonly dim: number,
  ) {}

  search(query: Float32Array, k: number, accept?: (row: number) => boolean): ArrayLike<number> {
    const n = this.index.getCurrentCount();
    if (n === 0) return [];
    // hnswlib-node takes plain arrays only; the copy of d floats is small next to the graph walk.
    const q = Array.from(query);
    return this.index.searchKnn(q, Math.min(k, n), accept).neighbors;
  }

  setEfSearch(ef: number): void {
    this.index.setEf(ef);
  }

  toBytes(): Uint8Array {
    return withTempFile((file) => {
      this.index.writeIndexSync(file);
      return new Uint8Array(readFileSync(file));
    });
  }
}
