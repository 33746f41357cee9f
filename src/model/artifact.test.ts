import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { CtxrecError } from "../core/errors.ts";
import { Rng } from "../core/rng.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import { tempFolder } from "../data/testFiles.ts";
import { Vocab } from "../data/vocab.ts";
import { initEngine } from "../engine/backend.ts";
import { buildHistoryBatch } from "../eval/history.ts";
import { looTargets } from "../eval/loo.ts";
import { readServingTables } from "../serve/tables.ts";
import { loadModel, saveModel } from "./artifact.ts";
import { resolveModelConfig } from "./config.ts";
import { itemFeaturesOf } from "./itemFeatures.ts";
import { allItemEmbeddings } from "./itemTower.ts";
import { createModel, disposeModel } from "./model.ts";
import { embedHistories } from "./scorer.ts";
import { stripItemCountries, toyWorld } from "./testWorld.ts";
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

  it("round-trips the item countries (weights.bin CSR + vocab.json countries), through loadModel and the no-tfjs reader", async () => {
    const base = await toyWorld();
    // Item codes 0 pad, 1 → [US], 2 → everywhere, 3 → [FR, US], 4..20 → everywhere (21 codes, 22 offsets).
    const offsets = new Int32Array(base.itemVocab.names.length + 1);
    offsets.set([0, 0, 1, 1, 3]);
    offsets.fill(3, 5);
    const names = ["<pad>", "<missing>", "US", "FR"];
    const ds: CompiledDataset = {
      ...base,
      itemCountryOffsets: offsets,
      itemCountries: new Int32Array([2, 3, 2]),
      demographics: {
        ...base.demographics,
        country: { ...base.demographics.country, vocab: new Vocab(names) },
      },
    };
    const m = createModel(cfg, vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(13));
    const tmp = tempFolder("ctxrec-artifact-");
    try {
      const dir = path.join(tmp.dir, "model");
      saveModel(dir, m, { dataset: ds });
      const loaded = loadModel(dir);
      expect(loaded.vocabs.countries).toEqual(names);
      expect(Array.from(loaded.itemCountries?.offsets ?? [])).toEqual(Array.from(offsets));
      expect(Array.from(loaded.itemCountries?.countries ?? [])).toEqual([2, 3, 2]);
      expect(loaded.itemCountries?.countryNames).toEqual(names);
      const tables = readServingTables(dir);
      expect(Array.from(tables.itemCountries?.offsets ?? [])).toEqual(Array.from(offsets));
      expect(Array.from(tables.itemCountries?.countries ?? [])).toEqual([2, 3, 2]);
      expect(tables.itemCountries?.countryNames).toEqual(names);
      disposeModel(loaded.model);
    } finally {
      disposeModel(m);
      tmp.remove();
    }
  });

  it("loads a folder written before item countries were stored (countries undefined)", async () => {
    const ds = await toyWorld();
    const m = createModel(cfg, vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(14));
    const tmp = tempFolder("ctxrec-artifact-");
    try {
      const dir = path.join(tmp.dir, "model");
      const fresh = saveModel(dir, m, { dataset: ds }).version;
      const version = stripItemCountries(dir);
      expect(version).not.toBe(fresh);
      const loaded = loadModel(dir);
      expect(loaded.manifest.version).toBe(version);
      expect(loaded.itemCountries).toBeUndefined();
      expect(loaded.vocabs.countries).toBeUndefined();
      expect(Array.from(allItemEmbeddings(loaded.model.item, loaded.model.features))).toEqual(
        Array.from(allItemEmbeddings(m.item, m.features)),
      );
      expect(readServingTables(dir).itemCountries).toBeUndefined();
      disposeModel(loaded.model);
    } finally {
      disposeModel(m);
      tmp.remove();
    }
  });

  it("refuses item countries that are only partly stored (CORRUPT)", async () => {
    const ds = await toyWorld();
    const m = createModel(cfg, vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(15));
    const tmp = tempFolder("ctxrec-artifact-");
    try {
      const dir = path.join(tmp.dir, "model");
      saveModel(dir, m, { dataset: ds });
      // Drop only the vocabulary: the arrays are left without the names their codes refer to.
      const mFile = path.join(dir, "manifest.json");
      const vFile = path.join(dir, "vocab.json");
      const manifest = JSON.parse(readFileSync(mFile, "utf8"));
      const { countries: _c, ...vocabs } = JSON.parse(readFileSync(vFile, "utf8"));
      writeFileSync(vFile, JSON.stringify(vocabs));
      manifest.version = createHash("sha256")
        .update(readFileSync(path.join(dir, "weights.bin")))
        .update(readFileSync(vFile))
        .update(JSON.stringify(manifest.config))
        .digest("hex");
      writeFileSync(mFile, JSON.stringify(manifest));
      expectCode(() => loadModel(dir), "CTXREC_ERR_ARTIFACT_CORRUPT");
      expectCode(() => readServingTables(dir), "CTXREC_ERR_ARTIFACT_CORRUPT");
    } finally {
      disposeModel(m);
      tmp.remove();
    }
  });

  describe("DCNv2 tower in the config", () => {
    const dcn = resolveModelConfig({ ...cfg, tower: { kind: "dcnv2", crossRank: 2 } });
    /** Rewrites the manifest's config with `edit` and re-hashes it (a consistent, but other, folder). */
    function rewriteConfig(dir: string, edit: (config: Record<string, unknown>) => void): void {
      const mFile = path.join(dir, "manifest.json");
      const manifest = JSON.parse(readFileSync(mFile, "utf8"));
      edit(manifest.config);
      manifest.version = createHash("sha256")
        .update(readFileSync(path.join(dir, "weights.bin")))
        .update(readFileSync(path.join(dir, "vocab.json")))
        .update(JSON.stringify(manifest.config))
        .digest("hex");
      writeFileSync(mFile, JSON.stringify(manifest));
    }

    it("round-trips a dcnv2 model (config and item embeddings); an mlp manifest has no tower field", async () => {
      const ds = await toyWorld();
      const m = createModel(dcn, vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(16));
      const plain = createModel(cfg, vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(16));
      const tmp = tempFolder("ctxrec-artifact-");
      try {
        const dir = path.join(tmp.dir, "model");
        saveModel(dir, m, { dataset: ds });
        const loaded = loadModel(dir);
        expect(loaded.model.config.tower).toEqual({ kind: "dcnv2", crossLayers: 2, crossRank: 2 });
        expect(allItemEmbeddings(loaded.model.item, loaded.model.features)).toEqual(
          allItemEmbeddings(m.item, m.features),
        );
        disposeModel(loaded.model);
        const plainDir = path.join(tmp.dir, "plain");
        expect("tower" in saveModel(plainDir, plain, { dataset: ds }).config).toBe(false);
        const old = loadModel(plainDir);
        expect(old.model.config.tower).toBeUndefined();
        expect(old.model.item.dcn).toBeUndefined();
        disposeModel(old.model);
      } finally {
        disposeModel(m);
        disposeModel(plain);
        tmp.remove();
      }
    });

    it("keeps the position anchor; a manifest written before the field existed reads as start", async () => {
      const ds = await toyWorld();
      const end = resolveModelConfig({ ...cfg, encoder: { ...cfg.encoder, positions: "end" } });
      const m = createModel(end, vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(18));
      const tmp = tempFolder("ctxrec-artifact-");
      try {
        const dir = path.join(tmp.dir, "model");
        saveModel(dir, m, { dataset: ds });
        const loaded = loadModel(dir);
        expect(loaded.model.config.encoder.positions).toBe("end");
        disposeModel(loaded.model);
        rewriteConfig(dir, (c) => {
          delete (c.encoder as Record<string, unknown>).positions;
        });
        const old = loadModel(dir);
        expect(old.model.config.encoder.positions).toBe("start");
        disposeModel(old.model);
      } finally {
        disposeModel(m);
        tmp.remove();
      }
    });

    it("refuses a config that does not match the stored weights (CORRUPT), either way", async () => {
      const ds = await toyWorld();
      const m = createModel(dcn, vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(17));
      const plain = createModel(cfg, vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(17));
      const tmp = tempFolder("ctxrec-artifact-");
      try {
        // dcnv2 weights read as mlp (tower field dropped): fusion/out has the wrong size.
        const dir = path.join(tmp.dir, "dcn");
        saveModel(dir, m, { dataset: ds });
        rewriteConfig(dir, (c) => {
          delete c.tower;
        });
        expectCode(() => loadModel(dir), "CTXREC_ERR_ARTIFACT_CORRUPT");
        // mlp weights read as dcnv2: the cross weights are missing.
        const plainDir = path.join(tmp.dir, "plain");
        saveModel(plainDir, plain, { dataset: ds });
        rewriteConfig(plainDir, (c) => {
          c.tower = { kind: "dcnv2", crossLayers: 2, crossRank: 0 };
        });
        expectCode(() => loadModel(plainDir), "CTXREC_ERR_ARTIFACT_CORRUPT");
      } finally {
        disposeModel(m);
        disposeModel(plain);
        tmp.remove();
      }
    });
  });
});
