/**
 * Exact (brute-force) inner-product search: the reference every approximate index is measured
 * against, and the fallback for selective filters. Plain TypeScript over the `[N, d]` float32
 * matrix.
 *
 * Batched search is blocked: a block of ITEM_BLOCK item rows (64 × 64 × 4 B = 16 KiB at d = 64)
 * is scored against every query of the batch while it sits in L1, so item memory is read once per
 * batch instead of once per query. Dot products accumulate in 4 independent double-precision lanes
 * (JS numbers), which lets V8 overlap the multiply-adds; scores are then rounded to float32.
 * Measured numbers: bench/results/ann.md (`npm run bench:ann`).
 */

import { INDEX_FORMAT, writeIndexArtifact } from "./artifact.ts";
import type { Eligibility } from "./eligibility.ts";
import { TopK } from "./topk.ts";
import {
  batchSize,
  checkItemEmbeddings,
  checkQuery,
  type IndexManifest,
  type ItemEmbeddings,
  type SearchResult,
  type VectorIndex,
} from "./vectorIndex.ts";

/** Item rows per block in batched search (see the module comment). */
const ITEM_BLOCK = 64;

/** u · v for u = a[ao, ao+d), v = b[bo, bo+d). */
export function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 3 < d; j += 4) {
    s0 += a[ao + j] * b[bo + j];
    s1 += a[ao + j + 1] * b[bo + j + 1];
    s2 += a[ao + j + 2] * b[bo + j + 2];
    s3 += a[ao + j + 3] * b[bo + j + 3];
  }
  for (; j < d; j++) s0 += a[ao + j] * b[bo + j];
  return s0 + s1 + (s2 + s3);
}

/** Arguments of `ExactIndex.build`. */
export interface ExactIndexArgs {
  /** Model version of the item tower that produced the vectors (goes into the manifest). */
  modelVersion: string;
}

/** Brute-force inner-product index. */
export class ExactIndex implements VectorIndex {
  readonly size: number;
  readonly dim: number;

  private constructor(
    readonly manifest: IndexManifest,
    /** `[N, d]`. */
    readonly vectors: Float32Array,
    readonly ids: readonly string[],
  ) {
    this.size = ids.length;
    this.dim = manifest.dim;
  }

  /** Indexes `items` (validated: unique ids, `[N, d]`, finite). The vectors are kept, not copied. */
  static build(items: ItemEmbeddings, args: ExactIndexArgs): ExactIndex {
    checkItemEmbeddings(items);
    const manifest: IndexManifest = {
      format: INDEX_FORMAT,
      kind: "exact",
      modelVersion: args.modelVersion,
      metric: "ip",
      count: items.ids.length,
      dim: items.dim,
      createdAt: new Date().toISOString(),
      params: {},
    };
    return new ExactIndex(manifest, items.vectors, items.ids);
  }

  /** Rebuilds from a loaded artifact (see `loadVectorIndex`). */
  static fromArtifact(manifest: IndexManifest, vectors: Float32Array, ids: readonly string[]): ExactIndex {
    return new ExactIndex(manifest, vectors, ids);
  }

  search(query: Float32Array, k: number, filter?: Eligibility): SearchResult {
    checkQuery(query, this.dim, k, filter, this.size);
    return this.result(scanRows(this.vectors, this.dim, query, 0, k, this.size, filter));
  }

  searchBatch(queries: Float32Array, k: number, filter?: Eligibility): SearchResult[] {
    const b = batchSize(queries, this.dim);
    const d = this.dim;
    for (let q = 0; q < b; q++) checkQuery(queries.subarray(q * d, (q + 1) * d), d, k, filter, this.size);
    // A filter visits an irregular subset of rows; blocking buys little there, so go query by query.
    if (filter !== undefined || b === 1) {
      return Array.from({ length: b }, (_, q) =>
        this.result(scanRows(this.vectors, d, queries, q * d, k, this.size, filter)),
      );
    }
    const tops = Array.from({ length: b }, () => new TopK(Math.min(k, this.size)));
    const v = this.vectors;
    for (let start = 0; start < this.size; start += ITEM_BLOCK) {
      const end = Math.min(this.size, start + ITEM_BLOCK);
      for (let q = 0; q < b; q++) {
        const top = tops[q];
        const qo = q * d;
        for (let i = start; i < end; i++) {
          const s = dot(queries, qo, v, i * d, d);
          if (s >= top.threshold) top.push(i, s);
        }
      }
    }
    return tops.map((t) => this.result(t.drain()));
  }

  save(path: string): void {
    writeIndexArtifact(path, { manifest: this.manifest, ids: [...this.ids], vectors: this.vectors });
  }

  private result(top: { rows: Int32Array; scores: Float32Array }): SearchResult {
    return { rows: top.rows, scores: top.scores, ids: Array.from(top.rows, (r) => this.ids[r]) };
  }
}

/**
 * Top-k rows of `vectors` `[N, d]` by inner product with `q[qo, qo+d)`, over all N rows or only the
 * eligible ones. Returns min(k, candidates) pairs best first.
 */
export function scanRows(
  vectors: Float32Array,
  d: number,
  q: Float32Array,
  qo: number,
  k: number,
  n: number,
  filter?: Eligibility,
): { rows: Int32Array; scores: Float32Array } {
  const candidates = filter === undefined ? n : filter.count;
  if (candidates === 0) return { rows: new Int32Array(0), scores: new Float32Array(0) };
  const top = new TopK(Math.min(k, candidates));
  if (filter === undefined) {
    for (let i = 0; i < n; i++) {
      const s = dot(q, qo, vectors, i * d, d);
      if (s >= top.threshold) top.push(i, s);
    }
  } else {
    const rows = filter.rows;
    for (let j = 0; j < rows.length; j++) {
      const i = rows[j];
      const s = dot(q, qo, vectors, i * d, d);
      if (s >= top.threshold) top.push(i, s);
    }
  }
  return top.drain();
}
