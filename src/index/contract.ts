/**
 * ONE contract suite for every `VectorIndex` implementation (as TFRS runs `run_top_k_test` against
 * its brute-force, streaming and ScaNN indexes): top-K equals an argsort of the inner products,
 * filters are honoured, k > N, bad queries fail with the right code, save/load round-trips, and a
 * reader refuses another model version. Call `describeVectorIndexContract` from a `*.test.ts`.
 * Test support only: it imports vitest and is not exported from the package API.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Rng } from "../core/rng.ts";
import { Eligibility } from "./eligibility.ts";
import { loadVectorIndex } from "./load.ts";
import { gaussianMixture, syntheticIds } from "./synthetic.ts";
import type { ItemEmbeddings, SearchResult, VectorIndex } from "./vectorIndex.ts";

/** An implementation under test. */
export interface ContractSubject {
  name: string;
  /** Builds an index over `items` for model version `modelVersion`. */
  build(items: ItemEmbeddings, modelVersion: string): VectorIndex;
  /**
   * Filtered searches walk an approximate graph: require only valid answers (eligible, min(k, eligible)
   * of them, best first, exact scores) and recall ≥ 0.9 against the filtered argsort, not equality.
   * An inner-product graph can leave short vectors with no in-links, and a filter then needs exactly
   * those (unfiltered search on small data with high ef must still equal the argsort).
   */
  approximateFilters?: boolean;
}

/** Top-k by a full argsort of u·v (plain loops, float64): the reference. Order: score ↓, row ↑. */
export function argsortTopK(
  items: ItemEmbeddings,
  query: Float32Array,
  k: number,
  accept: (row: number) => boolean = () => true,
): { rows: number[]; scores: number[] } {
  const { vectors, dim } = items;
  const scored: [number, number][] = [];
  for (let i = 0; i < items.ids.length; i++) {
    if (!accept(i)) continue;
    let s = 0;
    for (let j = 0; j < dim; j++) s += query[j] * vectors[i * dim + j];
    scored.push([i, s]);
  }
  scored.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  const top = scored.slice(0, k);
  return { rows: top.map((t) => t[0]), scores: top.map((t) => t[1]) };
}

function expectMatches(got: SearchResult, want: { rows: number[]; scores: number[] }, items: ItemEmbeddings) {
  expect(Array.from(got.rows)).toEqual(want.rows);
  expect(got.ids).toEqual(want.rows.map((r) => items.ids[r]));
  // Scores are float32-rounded dot products: equal to the float64 reference within float32 precision.
  got.scores.forEach((s, j) => {
    expect(s).toBeCloseTo(want.scores[j], 4);
  });
}

const mixture = (n: number, dim: number, seed: number): ItemEmbeddings => ({
  vectors: gaussianMixture({ n, dim, seed, clusters: 8 }),
  ids: syntheticIds(n),
  dim,
});

/** Registers the contract tests for `subject`. */
export function describeVectorIndexContract(subject: ContractSubject): void {
  describe(`VectorIndex contract: ${subject.name}`, () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-index-contract-"));
    afterAll(() => rmSync(tmp, { recursive: true, force: true }));

    it("ranks a hand-computed 2-D example", () => {
      // Items v0=[1,0] v1=[0,1] v2=[2,2] v3=[-1,0]; query u=[1,0.5]:
      // u·v = [1, 0.5, 3, -1] ⇒ top-3 rows [2, 0, 1] with scores [3, 1, 0.5].
      const items = {
        vectors: new Float32Array([1, 0, 0, 1, 2, 2, -1, 0]),
        ids: ["a", "b", "c", "d"],
        dim: 2,
      };
      const r = subject.build(items, "v1").search(new Float32Array([1, 0.5]), 3);
      expect(Array.from(r.rows)).toEqual([2, 0, 1]);
      expect(r.ids).toEqual(["c", "a", "b"]);
      expect(Array.from(r.scores)).toEqual([3, 1, 0.5]);
    });

    it.each([1, 2, 3])(
      "equals an argsort of inner products on unnormalised clustered data (seed %i)",
      (seed) => {
        const items = mixture(400, 16, seed);
        const index = subject.build(items, "v1");
        const queries = gaussianMixture({ n: 20, dim: 16, seed: seed + 100, clusters: 8 });
        for (const k of [1, 10, 50]) {
          const batch = index.searchBatch(queries, k);
          for (let q = 0; q < 20; q++) {
            const query = queries.subarray(q * 16, (q + 1) * 16);
            const want = argsortTopK(items, query, k);
            expectMatches(index.search(query, k), want, items);
            expectMatches(batch[q], want, items);
          }
        }
      },
    );

    it("returns all N items, sorted, when k > N", () => {
      const items = mixture(30, 8, 4);
      const query = gaussianMixture({ n: 1, dim: 8, seed: 5, clusters: 8 });
      const r = subject.build(items, "v1").search(query, 100);
      expect(r.rows.length).toBe(30);
      expectMatches(r, argsortTopK(items, query, 100), items);
    });

    it("never returns an ineligible item and returns fewer than k only when fewer are eligible", () => {
      const items = mixture(400, 16, 6);
      const index = subject.build(items, "v1");
      const rng = new Rng(7);
      const queries = gaussianMixture({ n: 10, dim: 16, seed: 8, clusters: 8 });
      // Shares from "almost none" to "almost all", so every filter path (exact scan, graph) runs.
      for (const share of [0, 0.005, 0.02, 0.1, 0.5, 0.95]) {
        const filter = Eligibility.fromPredicate(400, () => rng.bernoulli(share));
        let hits = 0;
        let total = 0;
        for (let q = 0; q < 10; q++) {
          const query = queries.subarray(q * 16, (q + 1) * 16);
          for (const k of [1, 10, 40]) {
            const r = index.search(query, k, filter);
            for (const row of r.rows) expect(filter.has(row), `row ${row} is ineligible`).toBe(true);
            expect(r.rows.length).toBe(Math.min(k, filter.count));
            const want = argsortTopK(items, query, k, (i) => filter.has(i));
            if (!subject.approximateFilters) {
              expectMatches(r, want, items);
              continue;
            }
            const all = argsortTopK(items, query, 400, (i) => filter.has(i));
            const exactScore = new Map(all.rows.map((row, j) => [row, all.scores[j]]));
            r.rows.forEach((row, j) => {
              expect(r.scores[j]).toBeCloseTo(exactScore.get(row) ?? Number.NaN, 4);
              if (j > 0) expect(r.scores[j]).toBeLessThanOrEqual(r.scores[j - 1]);
            });
            const truth = new Set(want.rows);
            for (const row of r.rows) if (truth.has(row)) hits++;
            total += want.rows.length;
          }
        }
        if (total > 0) expect(hits / total, `recall at share ${share}`).toBeGreaterThanOrEqual(0.9);
      }
    });

    it("rejects a query of the wrong width, with NaN, a bad k, or a filter for another N", () => {
      const index = subject.build(mixture(50, 8, 9), "v1");
      expect(() => index.search(new Float32Array(7), 5)).toThrow(
        expect.objectContaining({ code: "CTXREC_ERR_SHAPE" }),
      );
      const nan = new Float32Array(8);
      nan[3] = Number.NaN;
      expect(() => index.search(nan, 5)).toThrow(expect.objectContaining({ code: "CTXREC_ERR_NUMERIC" }));
      expect(() => index.search(new Float32Array(8), 0)).toThrow(
        expect.objectContaining({ code: "CTXREC_ERR_ARG" }),
      );
      expect(() => index.search(new Float32Array(8), 5, Eligibility.all(49))).toThrow(
        expect.objectContaining({ code: "CTXREC_ERR_SHAPE" }),
      );
      expect(() => index.searchBatch(new Float32Array(12), 5)).toThrow(
        expect.objectContaining({ code: "CTXREC_ERR_SHAPE" }),
      );
    });

    it("rejects duplicate ids and non-finite vectors at build", () => {
      const v = new Float32Array([1, 0, 0, 1]);
      expect(() => subject.build({ vectors: v, ids: ["a", "a"], dim: 2 }, "v1")).toThrow(/appears twice/);
      v[3] = Number.POSITIVE_INFINITY;
      expect(() => subject.build({ vectors: v, ids: ["a", "b"], dim: 2 }, "v1")).toThrow(
        expect.objectContaining({ code: "CTXREC_ERR_NUMERIC" }),
      );
    });

    it("round-trips through save/load, atomically, and refuses another model version", () => {
      const items = mixture(300, 16, 10);
      const index = subject.build(items, "model-abc");
      const file = path.join(tmp, "items.ctxidx");
      writeFileSync(file, "an older file the save must replace whole");
      index.save(file);
      expect(readdirSync(tmp)).toEqual(["items.ctxidx"]); // no temp file left behind
      const loaded = loadVectorIndex(file, { modelVersion: "model-abc" });
      expect(loaded.manifest).toEqual(index.manifest);
      const filter = Eligibility.fromPredicate(300, (i) => i % 3 !== 0);
      const queries = gaussianMixture({ n: 10, dim: 16, seed: 11, clusters: 8 });
      for (let q = 0; q < 10; q++) {
        const query = queries.subarray(q * 16, (q + 1) * 16);
        expect(loaded.search(query, 10)).toEqual(index.search(query, 10));
        expect(loaded.search(query, 10, filter)).toEqual(index.search(query, 10, filter));
      }
      expect(() => loadVectorIndex(file, { modelVersion: "model-xyz" })).toThrow(
        expect.objectContaining({
          code: "CTXREC_ERR_ARTIFACT_VERSION",
          message: expect.stringContaining("model-abc"),
        }),
      );
    });

    it("reports a damaged or missing file as such", () => {
      const file = path.join(tmp, "damaged.ctxidx");
      subject.build(mixture(50, 8, 12), "v1").save(file);
      const bytes = readFileSync(file);
      bytes[bytes.length - 3] ^= 0xff;
      writeFileSync(file, bytes);
      expect(() => loadVectorIndex(file, { modelVersion: "v1" })).toThrow(
        expect.objectContaining({ code: "CTXREC_ERR_ARTIFACT_CORRUPT" }),
      );
      expect(existsSync(path.join(tmp, "absent.ctxidx"))).toBe(false);
      expect(() => loadVectorIndex(path.join(tmp, "absent.ctxidx"), { modelVersion: "v1" })).toThrow(
        expect.objectContaining({ code: "CTXREC_ERR_DATA_MISSING_FILE" }),
      );
    });
  });
}
