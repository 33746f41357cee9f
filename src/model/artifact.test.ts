import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { CtxrecError } from "../core/errors.ts";
import { Rng } from "../core/rng.ts";
import { tempFolder } from "../data/testFiles.ts";
import { initEngine } from "../engine/backend.ts";
import { buildHistoryBatch } from "../eval/history.ts";
import { looTargets } from "../eval/loo.ts";
import { loadModel, saveModel } from "./artifact.ts";
import { resolveModelConfig } from "./config.ts";
import { itemFeaturesOf } from "./itemFeatures.ts";
import { allItemEmbeddings } from "./itemTower.ts";
import { createModel, disposeModel } from "./model.ts";
import { embedHistories } from "./scorer.ts";
import { toyWorld } from "./testWorld.ts";
import { vocabSizesOf } from "./vocabSizes.ts";

beforeAll(async () => {
  await initEngine();
});

const cfg = resolveModelConfig({
  encoder: { dim: 8, heads: 2, ffn: 16, maxLen: 6 },
  context: { dim: 8 },
  fusion: { hidden: 8 },
});

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CtxrecError);
    expect((err as CtxrecError).code).toBe(code);
    return;
  }
  throw new Error(`expected ${code}`);
}

describe("model artifact", () => {
  it("round-trips weights, vocabularies and config; the version is a content hash", async () => {
    const ds = await toyWorld();
    const m = createModel(cfg, vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(11));
    const tmp = tempFolder("ctxrec-artifact-");
    try {
      const dir = path.join(tmp.dir, "model");
      const manifest = saveModel(dir, m, {
        dataset: ds,
        metrics: { "test/ndcg@10": 0.5 },
        createdAt: "2026-01-01T00:00:00Z",
      });
      expect(manifest.version).toMatch(/^[0-9a-f]{64}$/);
      const loaded = loadModel(dir);
      expect(loaded.manifest.version).toBe(manifest.version);
      expect(loaded.manifest.metrics["test/ndcg@10"]).toBe(0.5);
      expect(loaded.vocabs.items).toEqual(ds.itemVocab.names);
      expect(Array.from(allItemEmbeddings(loaded.model.item, loaded.model.features))).toEqual(
        Array.from(allItemEmbeddings(m.item, m.features)),
      );
      const { users, positions } = looTargets(ds, "test");
      const batch = buildHistoryBatch(ds, users, positions);
      expect(Array.from(embedHistories(loaded.model, batch))).toEqual(Array.from(embedHistories(m, batch)));
      // Saving the same weights again (same createdAt) gives the same version; writing replaces the folder.
      expect(saveModel(dir, m, { dataset: ds, createdAt: "2026-01-01T00:00:00Z" }).version).toBe(
        manifest.version,
      );
      disposeModel(loaded.model);
    } finally {
      disposeModel(m);
      tmp.remove();
    }
  });

  it("refuses a changed weight (CORRUPT) and another format version (VERSION)", async () => {
    const ds = await toyWorld();
    const m = createModel(cfg, vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(12));
    const tmp = tempFolder("ctxrec-artifact-");
    try {
      const dir = path.join(tmp.dir, "model");
      saveModel(dir, m, { dataset: ds });
      const wFile = path.join(dir, "weights.bin");
      const bytes = readFileSync(wFile);
      bytes[100] ^= 0xff;
      writeFileSync(wFile, bytes);
      expectCode(() => loadModel(dir), "CTXREC_ERR_ARTIFACT_CORRUPT");
      saveModel(dir, m, { dataset: ds });
      const mFile = path.join(dir, "manifest.json");
      const manifest = JSON.parse(readFileSync(mFile, "utf8"));
      manifest.formatVersion = 99;
      writeFileSync(mFile, JSON.stringify(manifest));
      expectCode(() => loadModel(dir), "CTXREC_ERR_ARTIFACT_VERSION");
    } finally {
      disposeModel(m);
      tmp.remove();
    }
  });
});
