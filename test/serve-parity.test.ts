/**
 * End-to-end parity of the candidate service with the offline evaluation path.
 *
 * Setup (src/serve/testBundle.ts): a model for the tiny synthetic world saved as an artifact,
 * exported to ONNX, every user's state encoded into a file: store with the ONNX encoder (what
 * `ctxrec encode` does), exact and HNSW indexes over the ONNX item tower.
 * Reference: the FULL tfjs model — `userStates` over the user's last L events with the same context
 * and demographics, last real position — scored against the tfjs item tower by exact search.
 * Claim: with the exact index the service's top-K equals the reference's (ranks may only differ
 * between items whose scores tie within 1e-4: ORT and tfjs agree to ~1e-6); with the HNSW index we
 * measure the overlap@K and require ≥ 0.9 (HNSW recall on a 200-item catalogue).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../src/core/rng.ts";
import type { CompiledDataset } from "../src/data/dataset.ts";
import { selectRows } from "../src/engine/sparseEmbedding.ts";
import { ExactIndex } from "../src/index/exact.ts";
import type { ContextInput } from "../src/model/contextLayer.ts";
import { allItemEmbeddings } from "../src/model/itemTower.ts";
import { type CtxrecModel, itemReps, userStates } from "../src/model/model.ts";
import { sequenceBatch } from "../src/model/sequences.ts";
import { loadBundle } from "../src/serve/bundle.ts";
import { buildServer } from "../src/serve/server.ts";
import { BundleHandle, bundleLoader } from "../src/serve/swap.ts";
import { makeServeFixture, type ServeFixture } from "../src/serve/testBundle.ts";
import { createStoreCounters } from "../src/store/featureStore.ts";
import { contextFromItems, emptyContextBatch } from "../src/train/context.ts";
import { normaliseRow, writeTopK } from "../src/train/contextBatch.ts";

const K = 10;
const FIELDS = ["age", "country", "gender", "occupation"] as const;

interface Case {
  /** Request body. */
  body: Record<string, unknown>;
  /** User code, or 0 for a user the store does not hold (cold start: empty history). */
  user: number;
  context: ContextInput;
  demographics: Record<string, number>;
  subject?: string;
}

/** The tfjs user embedding `[d]` of one case: full model, last real position, inference mode. */
function referenceEmbedding(m: CtxrecModel, ds: CompiledDataset, c: Case): Float32Array {
  const L = m.config.encoder.maxLen;
  const first = c.user > 0 ? ds.offsets[c.user] : 0;
  const end = c.user > 0 ? ds.offsets[c.user + 1] : 0;
  const seq = sequenceBatch(
    ds,
    Int32Array.of(Math.max(first, end - L)),
    Int32Array.of(end),
    Int32Array.of(first),
    L,
  );
  const P = seq.len;
  const k = c.context.k;
  // Every slot gets the request's context and demographics; only the last real one is read.
  const input: ContextInput = {
    k,
    catIds: new Int32Array(P * k),
    weights: new Float32Array(P * k),
    present: new Uint8Array(P).fill(c.context.present[0]),
  };
  for (let p = 0; p < P; p++) {
    input.catIds.set(c.context.catIds, p * k);
    input.weights.set(c.context.weights, p * k);
  }
  const demographics: Record<string, Int32Array> = {};
  for (const f of FIELDS) demographics[f] = new Int32Array(P).fill(c.demographics[f]);
  const sel = selectRows(seq.items, m.item.ids.rows, "history items");
  const last = Math.max(0, seq.lengths[0] - 1);
  return tf.tidy(() => {
    const reps = itemReps(m, sel.rows, m.item.ids.gatherRows(sel.rows));
    const u = userStates(m, seq, reps, sel.local, { input, demographics }, undefined);
    return tf.gather(u, tf.tensor1d([last], "int32")).dataSync() as Float32Array;
  });
}

/** Requests of every kind: no context, subject item, category weights; known and cold-start users. */
function makeCases(ds: CompiledDataset, n: number, seed: number): Case[] {
  const rng = new Rng(seed);
  const kCtx = 4;
  const cases: Case[] = [];
  const nItems = ds.itemVocab.size - 1;
  const nCats = ds.categoryVocab.size - 1;
  for (let i = 0; i < n; i++) {
    const cold = i % 8 === 7;
    const user = cold ? 0 : 1 + rng.int(ds.userVocab.size - 1);
    const body: Record<string, unknown> = { userId: cold ? `cold-${i}` : ds.userVocab.names[user], k: K };
    const demographics: Record<string, number> = {};
    const demo: Record<string, string | number> = {};
    for (const f of FIELDS) {
      const code = user > 0 ? ds.demographics[f].codes[user] : 1;
      demographics[f] = Math.max(code, 1);
      if (code > 1) demo[f] = f === "age" ? ds.userAge[user] : ds.demographics[f].vocab.names[code];
    }
    if (Object.keys(demo).length > 0) body.demographics = demo;
    let context: ContextInput = emptyContextBatch(1, kCtx);
    let subject: string | undefined;
    if (i % 3 === 1) {
      const item = 1 + rng.int(nItems);
      subject = ds.itemVocab.names[item];
      body.context = { subjectItemId: subject };
      context = contextFromItems([item], ds, kCtx);
    } else if (i % 3 === 2) {
      const a = 1 + rng.int(nCats);
      const b = 1 + ((a + rng.int(nCats - 1)) % nCats);
      const ca = 0.2 + 0.8 * rng.float();
      const cb = 0.2 + 0.8 * rng.float();
      body.context = {
        categories: [
          { id: ds.categoryVocab.names[a], confidence: ca },
          { id: ds.categoryVocab.names[b], confidence: cb },
        ],
      };
      const batch = emptyContextBatch(1, kCtx);
      normaliseRow(batch, 0, writeTopK([a, b], [ca, cb], 0, 2, batch, 0));
      context = batch;
    }
    cases.push({ body, user, context, demographics, ...(subject !== undefined ? { subject } : {}) });
  }
  return cases;
}

let fx: ServeFixture;
const apps: FastifyInstance[] = [];
const handles: BundleHandle[] = [];

async function serve(indexPath: string): Promise<FastifyInstance> {
  const opts = { counters: createStoreCounters() };
  const h = new BundleHandle(
    await loadBundle({ modelDir: fx.modelDir, indexPath, storeUrl: fx.storeUrl }, opts),
    bundleLoader(opts),
  );
  handles.push(h);
  const app = buildServer(h);
  apps.push(app);
  return app;
}

beforeAll(async () => {
  fx = await makeServeFixture(11);
}, 120_000);

afterAll(async () => {
  for (const a of apps) await a.close();
  for (const h of handles) await h.closeAll();
  fx?.cleanup();
});

type Answer = { candidates: { itemId: string; score: number }[]; coldStart: boolean };

describe("service top-K vs the full tfjs model + exact search", () => {
  it("equals it with the exact index, and overlaps it ≥ 0.9 with HNSW", async () => {
    const m = fx.model;
    const d = m.config.encoder.dim;
    const ref = ExactIndex.build(
      {
        vectors: allItemEmbeddings(m.item, m.features).slice(d),
        ids: fx.ds.itemVocab.names.slice(1),
        dim: d,
      },
      { modelVersion: "tfjs-reference" },
    );
    const exactApp = await serve(fx.exactPath);
    const hnswApp = await serve(fx.hnswPath);
    const cases = makeCases(fx.ds, 48, 5);
    let overlap = 0;
    let maxScoreDiff = 0;
    for (const c of cases) {
      const u = referenceEmbedding(m, fx.ds, c);
      const found = ref.search(u, K + 1);
      const want = found.ids
        .map((id, j) => ({ id, score: found.scores[j] }))
        .filter((x) => x.id !== c.subject)
        .slice(0, K);
      const got = (
        await exactApp.inject({ method: "POST", url: "/v1/candidates", payload: c.body })
      ).json<Answer>();
      expect(got.coldStart).toBe(c.user === 0);
      expect(got.candidates).toHaveLength(K);
      for (let j = 0; j < K; j++) {
        const diff = Math.abs(got.candidates[j].score - want[j].score);
        maxScoreDiff = Math.max(maxScoreDiff, diff);
        expect(diff).toBeLessThan(1e-4);
        // Same item at each rank, unless two items tie within 1e-4 and swapped places.
        if (got.candidates[j].itemId !== want[j].id) {
          const tie = want.some(
            (w) => w.id === got.candidates[j].itemId && Math.abs(w.score - want[j].score) < 1e-4,
          );
          expect(tie, `rank ${j} of ${JSON.stringify(c.body)}`).toBe(true);
        }
      }
      const approx = (
        await hnswApp.inject({ method: "POST", url: "/v1/candidates", payload: c.body })
      ).json<Answer>();
      const wantIds = new Set(want.map((w) => w.id));
      overlap += approx.candidates.filter((x) => wantIds.has(x.itemId)).length / K;
    }
    overlap /= cases.length;
    process.stdout.write(
      `serve parity: ${cases.length} requests, exact max |Δscore| ${maxScoreDiff.toExponential(2)}, HNSW overlap@${K} ${overlap.toFixed(3)}\n`,
    );
    expect(overlap).toBeGreaterThanOrEqual(0.9);
  });
});
