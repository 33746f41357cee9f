/**
 * End-to-end offline batch: `ctxrec encode` and `ctxrec index --model` on a synthetic world with a
 * (randomly initialised, saved and ONNX-exported) model: the kill-during-encode consistency test,
 * resume, `--since`, refusals, and the index's manifest, vectors and recall.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerEncodeCommand } from "../src/cli/commands/encode.ts";
import { registerIndexCommand } from "../src/cli/commands/index.ts";
import { Rng } from "../src/core/rng.ts";
import type { CompiledDataset } from "../src/data/dataset.ts";
import { loadDataset } from "../src/data/load.ts";
import { initEngine } from "../src/engine/backend.ts";
import { ExactIndex } from "../src/index/exact.ts";
import { loadVectorIndex } from "../src/index/load.ts";
import { saveModel } from "../src/model/artifact.ts";
import { resolveModelConfig } from "../src/model/config.ts";
import { itemFeaturesOf } from "../src/model/itemFeatures.ts";
import { allItemEmbeddings } from "../src/model/itemTower.ts";
import { createModel, disposeModel } from "../src/model/model.ts";
import { vocabSizesOf } from "../src/model/vocabSizes.ts";
import { exportOnnx } from "../src/onnx/export.ts";
import type { FeatureStore, StateEntry } from "../src/store/featureStore.ts";
import { openFeatureStore } from "../src/store/open.ts";
import { generateWorld } from "../src/synth/generate.ts";
import { ctxrecInProcess, repoRoot } from "./cli.ts";

const D = 16;
const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-offline-e2e-"));
const worldDir = path.join(tmp, "world");
const modelDir = path.join(tmp, "model");
const data = ["--format", "jsonl", "--path", worldDir];
let ds: CompiledDataset;
let version: string;
/** [N+1, d] tfjs item-tower embeddings (row 0 padding), the reference for the index vectors. */
let tfjsItems: Float32Array;
/** Users with at least one event, and their newest event time. */
let active: { name: string; newest: number }[];

beforeAll(async () => {
  await initEngine();
  // 6,000 users: enough chunks of 16 that a SIGKILL after the first one lands mid-run.
  await generateWorld({ preset: "tiny", seed: 5, overrides: { users: 6000 }, outDir: worldDir });
  ds = await loadDataset({ format: "jsonl", path: worldDir });
  const cfg = resolveModelConfig({
    encoder: { dim: D, blocks: 1, heads: 2, ffn: 32, maxLen: 20 },
    context: { dim: D },
    fusion: { hidden: D },
  });
  const m = createModel(cfg, vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(3));
  try {
    version = saveModel(modelDir, m, { dataset: ds }).version;
    tfjsItems = allItemEmbeddings(m.item, m.features);
  } finally {
    disposeModel(m);
  }
  await exportOnnx(modelDir);
  active = [];
  for (let u = 1; u < ds.offsets.length - 1; u++) {
    if (ds.offsets[u + 1] > ds.offsets[u])
      active.push({ name: ds.userVocab.names[u], newest: ds.timestamps[ds.offsets[u + 1] - 1] });
  }
}, 60_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * Runs `ctxrec ARGS…` in this process (no tsx start-up per call; the kill test spawns its own
 * child) and returns its stdout; a CtxrecError rejects as it would reach main.ts.
 */
function ctxrec(args: string[]): Promise<string> {
  return ctxrecInProcess((program) => {
    registerEncodeCommand(program);
    registerIndexCommand(program);
  }, args);
}

const storeUrl = (name: string) => `file:${path.join(tmp, name)}`;
/** `ctxrec encode` of the world with the model into the store `url`, plus `flags`. */
const encodeArgs = (url: string, ...flags: string[]) => [
  "encode",
  "--model",
  modelDir,
  ...data,
  "--store",
  url,
  ...flags,
];
/** Chunks of 16 users on one thread (the kill test and its clean reference). */
const chunked = ["--batch-size", "16", "--threads", "1"];

async function readAll(url: string): Promise<(StateEntry | undefined)[]> {
  const s = await openFeatureStore(url, { modelVersion: version, dim: D });
  try {
    return await s.getMany(active.map((a) => a.name));
  } finally {
    await s.close();
  }
}

/** Rows of `version` in the SQLite store file, or -1 while its tables do not exist yet. */
function rowsIn(file: string): number {
  if (!existsSync(file)) return -1;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const row = db
      .prepare(
        "SELECT COUNT(*) AS n FROM ctxrec_states s JOIN ctxrec_namespaces v ON s.ns = v.id WHERE v.model_version = ?",
      )
      .get(version) as { n: number };
    return row.n;
  } catch {
    return -1;
  } finally {
    db.close();
  }
}

function expectWholeStates(entries: (StateEntry | undefined)[]): number {
  let present = 0;
  entries.forEach((e, i) => {
    if (e === undefined) return;
    present++;
    expect(e.vector.length).toBe(D);
    expect(e.vector.every(Number.isFinite)).toBe(true);
    expect(e.modelVersion).toBe(version);
    expect(e.computedAt).toBe(active[i].newest);
  });
  return present;
}

describe("ctxrec encode", () => {
  it("survives SIGKILL mid-run: consistent store, old version still active, rerun completes bit-exactly", async () => {
    const file = path.join(tmp, "kill.db");
    const url = storeUrl("kill.db");
    // An older version is active before the run; readers must keep seeing it until the run is complete.
    const old: FeatureStore = await openFeatureStore(url, { modelVersion: "old-v", dim: D, mode: "write" });
    await old.putMany([
      { user: active[0].name, vector: new Float32Array(D).fill(1), modelVersion: "old-v", computedAt: 1 },
    ]);
    await old.activate();
    await old.close();

    const args = encodeArgs(url, ...chunked);
    const child = spawn(
      process.execPath,
      ["--import", "tsx", path.join(repoRoot, "src/cli/main.ts"), ...args],
      {
        cwd: repoRoot,
        stdio: "ignore",
      },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on("exit", (_c, sig) => resolve(sig)),
    );
    let running = true;
    void exited.then(() => {
      running = false;
    });
    // Poll until the first chunk is committed, then kill without warning.
    while (running && rowsIn(file) < 16) await new Promise((r) => setTimeout(r, 5));
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");

    const afterKill = await readAll(url);
    const present = expectWholeStates(afterKill);
    expect(present).toBeGreaterThanOrEqual(16);
    expect(present % 16).toBe(0); // whole chunks only: putMany is atomic
    expect(present).toBeLessThan(active.length); // the kill landed mid-run
    const probe = await openFeatureStore(url, { modelVersion: "old-v", dim: D });
    expect(await probe.activeVersion()).toBe("old-v");
    await probe.close();

    const rerun = await ctxrec(args);
    expect(rerun).toContain(
      `encoded ${(active.length - present).toLocaleString("en-US")} users (${present.toLocaleString("en-US")} already up to date`,
    );
    expect(rerun).toContain(`active version: ${version}`);

    await ctxrec(encodeArgs(storeUrl("clean.db"), ...chunked));
    const resumed = await readAll(url);
    const reference = await readAll(storeUrl("clean.db"));
    expect(expectWholeStates(resumed)).toBe(active.length);
    for (let i = 0; i < active.length; i++) {
      const a = resumed[i]?.vector as Float32Array;
      const b = reference[i]?.vector as Float32Array;
      expect(
        Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
          Buffer.from(b.buffer, b.byteOffset, b.byteLength),
        ),
      ).toBe(true);
    }
  }, 60_000);

  it("--since encodes only users with newer events and leaves the active version alone", async () => {
    const times = active.map((a) => a.newest).sort((x, y) => x - y);
    const since = times[Math.floor(times.length / 2)];
    const url = storeUrl("since.db");
    const r = await ctxrec(encodeArgs(url, "--since", String(since)));
    expect(r).toMatch(/active version unchanged: none/);
    const entries = await readAll(url);
    for (let i = 0; i < active.length; i++) expect(entries[i] !== undefined).toBe(active[i].newest > since);
    const iso = new Date(since * 1000).toISOString();
    const again = await ctxrec(encodeArgs(url, "--since", iso));
    expect(again).toMatch(/^encoded 0 users/);
  });

  it("refuses data whose ids differ from the model's (encode and index --model)", async () => {
    const other = path.join(tmp, "other");
    await generateWorld({ preset: "tiny", seed: 9, outDir: other });
    const otherData = ["--format", "jsonl", "--path", other];
    await expect(
      ctxrec(["encode", "--model", modelDir, ...otherData, "--store", storeUrl("x.db")]),
    ).rejects.toMatchObject({
      code: "CTXREC_ERR_DATA_UNKNOWN_ID",
      message: expect.stringMatching(/ids differ from the model's/),
    });
    expect(existsSync(path.join(tmp, "x.db"))).toBe(false);
    const out = path.join(tmp, "x.ctxidx");
    await expect(ctxrec(["index", "--model", modelDir, "--out", out, ...otherData])).rejects.toMatchObject({
      code: "CTXREC_ERR_DATA_UNKNOWN_ID",
    });
    expect(existsSync(out)).toBe(false);
  });

  it("refuses a store whose namespace for the model has another width", async () => {
    const url = storeUrl("narrow.db");
    const s = await openFeatureStore(url, { modelVersion: version, dim: 8, mode: "write" });
    await s.close();
    await expect(ctxrec(["encode", "--model", modelDir, ...data, "--store", url])).rejects.toMatchObject({
      code: "CTXREC_ERR_SHAPE",
      message: expect.stringMatching(/holds vectors of shape \[8\]/),
    });
  });
});

describe("ctxrec index --model", () => {
  it("indexes the item tower's catalogue with the model version, the tower's vectors and recall vs exact", async () => {
    const out = path.join(tmp, "items.ctxidx");
    const r = await ctxrec(["index", "--model", modelDir, "--out", out, ...data, "--backend", "hnswlib"]);
    expect(r).toMatch(/^hnsw index: 200 items × d=16/);
    const recall = Number(/recall@10 vs exact: ([\d.]+)/.exec(r)?.[1]);
    expect(recall).toBeGreaterThanOrEqual(0.9);
    expect(r).toMatch(/with a country filter [\d.]+ \(\d+ countries/);
    const index = loadVectorIndex(out, { modelVersion: version });
    expect(index.manifest.modelVersion).toBe(version);
    expect(index.size).toBe(ds.itemVocab.size - 1);
    // Row r is item code r + 1: the ONNX item tower equals the tfjs one within 1e-5.
    const exact = index as unknown as { vectors: Float32Array; ids: readonly string[] };
    expect(exact.ids[0]).toBe(ds.itemVocab.names[1]);
    let maxDiff = 0;
    for (let j = 0; j < exact.vectors.length; j++)
      maxDiff = Math.max(maxDiff, Math.abs(exact.vectors[j] - tfjsItems[D + j]));
    expect(maxDiff).toBeLessThan(1e-5);
    // Exact kind: same top-10 as an ExactIndex over the same vectors.
    const exactOut = path.join(tmp, "exact.ctxidx");
    await ctxrec(["index", "--model", modelDir, "--out", exactOut, "--kind", "exact"]);
    const e = loadVectorIndex(exactOut, { modelVersion: version });
    const ref = ExactIndex.build(
      { vectors: exact.vectors, ids: exact.ids, dim: D },
      { modelVersion: version },
    );
    const q = exact.vectors.subarray(0, D);
    expect(Array.from(e.search(q, 10).rows)).toEqual(Array.from(ref.search(q, 10).rows));
    expect(() => loadVectorIndex(out, { modelVersion: "another" })).toThrow(/index built for model version/);
  });
});
