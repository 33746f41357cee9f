/**
 * The model CG: the CG contract (≤ k distinct eligible items, no subject item, batch = alone) for
 * the contextual model and the baseline on both surfaces; and a recording test that nothing
 * derived from the held-out next conversion reaches the model: every history the scorer receives
 * is exactly the user's events strictly before the request time, every context is the subject
 * item's (or the query's) categories, no request carries `next`, and changing every request's
 * `next` changes no candidate list. Untrained models (random init): the plumbing is under test.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../core/rng.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import { loadDataset } from "../data/load.ts";
import { initEngine } from "../engine/backend.ts";
import type { EmbeddingScorer, HistoryBatch } from "../eval/scorer.ts";
import { resolveModelConfig } from "../model/config.ts";
import { itemFeaturesOf } from "../model/itemFeatures.ts";
import { type CtxrecModel, createModel } from "../model/model.ts";
import { createModelScorer } from "../model/scorer.ts";
import { vocabSizesOf } from "../model/vocabSizes.ts";
import { generateWorld } from "../synth/generate.ts";
import { readWorld } from "../synth/read.ts";
import type { World } from "../synth/types.ts";
import { trainedContextEncoder } from "../train/contextEncoder.ts";
import { type CandidateGenerator, type CandidateRequest, toCandidateRequest } from "./candidateGenerator.ts";
import { type Catalog, compileCatalog } from "./catalog.ts";
import { checkCandidateGenerator } from "./contract.ts";
import { createModelGenerator } from "./modelGenerator.ts";
import { simulateFunnel } from "./simulator.ts";
import { searchFunnelRequests } from "./surface.ts";
import { UtilityModel } from "./utility.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-model-cg-"));
let world: World;
let ds: CompiledDataset;
let cat: Catalog;
let contextual: CtxrecModel;
let baseline: CtxrecModel;

beforeAll(async () => {
  await initEngine();
  const dir = path.join(tmp, "world");
  await generateWorld({ preset: "tiny", seed: 5, outDir: dir, search: true });
  world = await readWorld(dir);
  ds = await loadDataset({ format: "jsonl", path: dir });
  cat = compileCatalog(world);
  const make = (enabled: boolean, seed: number) =>
    createModel(
      resolveModelConfig({
        encoder: { dim: 8, heads: 2, ffn: 16, maxLen: 10, blocks: 1 },
        context: { dim: 8, enabled },
      }),
      vocabSizesOf(ds),
      itemFeaturesOf(ds),
      new Rng(seed),
    );
  contextual = make(true, 1);
  baseline = make(false, 2);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const users = () => new Map(world.users.map((u) => [u.id, u]));
const relatedRequests = (n: number): CandidateRequest[] =>
  world.requests.slice(0, n).map((r) => toCandidateRequest(r, users().get(r.user)));
const searchRequests = (n: number): CandidateRequest[] =>
  searchFunnelRequests(world)
    .slice(0, n)
    .map((r) => toCandidateRequest(r, users().get(r.user)));

function cgOf(m: CtxrecModel, name: string, scorer?: EmbeddingScorer): CandidateGenerator {
  return createModelGenerator({
    name,
    scorer: scorer ?? createModelScorer(m, name, { context: trainedContextEncoder(4) }),
    ds,
    cat,
    maxLen: m.config.encoder.maxLen,
  });
}

describe("model CG contract", () => {
  it("returns ≤ k distinct eligible items, never the subject, the same in a batch and alone", async () => {
    for (const [m, name] of [
      [contextual, "ctxrec"],
      [baseline, "ctxrec-baseline"],
    ] as const) {
      const cg = cgOf(m, name);
      await checkCandidateGenerator(cg, cat, relatedRequests(40), 15);
      await checkCandidateGenerator(cg, cat, searchRequests(40), 15);
      // k larger than the catalogue: every eligible item but the subject (tiny has 200 items).
      const [r] = relatedRequests(1);
      const [all] = await cg.retrieveMany([r], 500);
      const eligible = cat.itemIds.filter(
        (_, i) => !cat.countries.has(i) || cat.countries.get(i)?.has(r.country ?? ""),
      );
      expect(all.length).toBe(eligible.filter((id) => id !== r.subjectItem).length);
    }
  });

  it("gives the contextual model's users another embedding when the context changes", async () => {
    const cg = cgOf(contextual, "ctxrec");
    const r = world.requests[0];
    const req = toCandidateRequest(r, users().get(r.user));
    const other = world.items.find(
      (i) => i.categories[0]?.id !== world.items[Number(r.subjectItem.slice(1))].categories[0]?.id,
    );
    const [a] = await cg.retrieveMany([req], 20);
    const [b] = await cg.retrieveMany([{ ...req, subjectItem: other?.id as string }], 20);
    expect(a.map((x) => x.score)).not.toEqual(b.map((x) => x.score));
  });
});

describe("nothing derived from the target reaches the model", () => {
  it("hands the scorer only events strictly before the request time and the subject's categories", async () => {
    const batches: HistoryBatch[] = [];
    const inner = createModelScorer(contextual, "ctxrec", { context: trainedContextEncoder(4) });
    const recording: EmbeddingScorer = {
      ...inner,
      userEmbeddings: (batch) => {
        batches.push(batch);
        return inner.userEmbeddings(batch);
      },
    };
    const seen: CandidateRequest[] = [];
    const model = cgOf(contextual, "ctxrec", recording);
    const spy: CandidateGenerator = {
      name: "ctxrec",
      retrieveMany: (requests, k) => {
        seen.push(...requests);
        return model.retrieveMany(requests, k);
      },
    };
    const utility = new UtilityModel(cat, world.userTruth);
    await simulateFunnel(world, cat, utility, [spy], { k: 10, batchSize: 64 });
    expect(seen.length).toBe(world.requests.length);
    for (const r of seen) expect(Object.keys(r)).not.toContain("next");

    // Each recorded row is the user's events with timestamp < request time, in order, and the
    // context row is the subject item's categories (codes and confidences from the data set).
    // Rows come grouped by history length; a tiny world has one request per user, so the row's
    // user code names its request.
    const byUser = new Map(world.requests.map((r) => [ds.userVocab.get(r.user) as number, r]));
    expect(byUser.size).toBe(world.requests.length);
    let row = 0;
    for (const batch of batches) {
      for (let b = 0; b < batch.size; b++, row++) {
        const u = batch.users[b];
        const req = byUser.get(u);
        if (req === undefined) throw new Error(`no request for user code ${u}`);
        const expected: number[] = [];
        for (let p = ds.offsets[u]; p < ds.offsets[u + 1]; p++)
          if (ds.timestamps[p] < req.time) expected.push(ds.items[p]);
        const got = Array.from(batch.items.subarray(batch.historyOffsets[b], batch.historyOffsets[b + 1]));
        expect(got).toEqual(expected);
        for (let p = batch.historyOffsets[b]; p < batch.historyOffsets[b + 1]; p++) {
          expect(batch.timestamps[p]).toBeLessThan(req.time);
        }
        const s = ds.itemVocab.get(req.subjectItem) as number;
        const ctx = batch.context;
        expect(Array.from(ctx?.categories.subarray(ctx.offsets[b], ctx.offsets[b + 1]) ?? [])).toEqual(
          Array.from(ds.catIds.subarray(ds.catOffsets[s], ds.catOffsets[s + 1])),
        );
      }
    }
    expect(row).toBe(world.requests.length);
  });

  it("returns the same candidates when every request's next conversion is changed", async () => {
    const lists = async (w: World) => {
      const out: string[][] = [];
      const cg = cgOf(contextual, "ctxrec");
      const spy: CandidateGenerator = {
        name: "ctxrec",
        retrieveMany: async (requests, k) => {
          const res = await cg.retrieveMany(requests, k);
          out.push(...res.map((l) => l.map((x) => x.item)));
          return res;
        },
      };
      await simulateFunnel(w, cat, new UtilityModel(cat, w.userTruth), [spy], { k: 10 });
      return out;
    };
    const shifted: World = {
      ...world,
      requests: world.requests.map((r, n) => ({
        ...r,
        next: { item: world.items[(n * 7) % world.items.length].id, timestamp: r.next.timestamp + 1 },
      })),
    };
    expect(await lists(shifted)).toEqual(await lists(world));
  });
});
