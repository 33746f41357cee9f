/**
 * Hot swap: a new model + index + store version replaces the old one without failing a request;
 * a request in flight finishes on the bundle it started with, which is closed only after it; a
 * bundle whose parts disagree on the model version is refused and the old one keeps serving.
 */
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CtxrecError } from "../core/errors.ts";
import { createStoreCounters, type FeatureStore } from "../store/featureStore.ts";
import {
  type BundleOptions,
  type BundleSource,
  closeBundle,
  loadBundle,
  type ServeBundle,
} from "./bundle.ts";
import { buildServer } from "./server.ts";
import { BundleHandle } from "./swap.ts";
import { makeServeFixture, publishModel, type ServeFixture, saveTinyModel } from "./testBundle.ts";

let fx: ServeFixture;
let v2: { modelDir: string; exactPath: string; version: string };
const opts: BundleOptions = { counters: createStoreCounters() };
let closed: string[];
let bundles: BundleHandle;
let app: FastifyInstance;
/** Released to let the gated request through its store lookup. */
let openGate: () => void = () => {};
let gate: Promise<void> = Promise.resolve();

/** The bundle with a store whose `get` waits for the gate (for the in-flight test). */
function gated(b: ServeBundle): ServeBundle {
  const store: FeatureStore = Object.create(b.store);
  store.get = async (user) => {
    await gate;
    return b.store.get(user);
  };
  return { ...b, store };
}

beforeAll(async () => {
  fx = await makeServeFixture(5);
  // Version 2: another seed on the same data, published into the same store (which activates it).
  const modelDir = path.join(fx.root, "model2");
  const { version } = await saveTinyModel(fx.ds, modelDir, 6);
  const exactPath = path.join(fx.root, "items2-exact.ctxidx");
  await publishModel(fx.ds, modelDir, fx.storeUrl, exactPath, path.join(fx.root, "items2-hnsw.ctxidx"));
  v2 = { modelDir, exactPath, version };
}, 120_000);

afterAll(async () => {
  await app?.close();
  await bundles?.closeAll();
  fx?.cleanup();
});

const src = (): BundleSource => ({ modelDir: fx.modelDir, indexPath: fx.exactPath, storeUrl: fx.storeUrl });

/** A v1 bundle although the store's active version is already v2: the reader keeps its namespace. */
async function loadV1(): Promise<ServeBundle> {
  // Load against a store whose active pointer is v1: activate v1 for the load, then v2 again.
  const { openFeatureStore } = await import("../store/open.ts");
  const s1 = await openFeatureStore(fx.storeUrl, { modelVersion: fx.version, dim: 16, mode: "write" });
  await s1.activate();
  await s1.close();
  const b = await loadBundle(src(), opts);
  const s2 = await openFeatureStore(fx.storeUrl, { modelVersion: v2.version, dim: 16, mode: "write" });
  await s2.activate();
  await s2.close();
  return b;
}

const ask = (userId: string) =>
  app.inject({ method: "POST", url: "/v1/candidates", payload: { userId, k: 5 } });

describe("hot swap", () => {
  it("serves v1 while the store's active version moved to v2 (its namespace stays readable)", async () => {
    closed = [];
    bundles = new BundleHandle(
      gated(await loadV1()),
      (s) => loadBundle(s, opts),
      async (b) => {
        closed.push(b.modelVersion);
        await closeBundle(b);
      },
    );
    app = buildServer(bundles);
    const r = await ask(fx.ds.userVocab.names[1]);
    expect(r.statusCode).toBe(200);
    expect(r.json<{ modelVersion: string; coldStart: boolean }>()).toMatchObject({
      modelVersion: fx.version,
      coldStart: false,
    });
  });

  it("refuses a reload whose parts disagree, logs it, and keeps serving the old bundle", async () => {
    // Model v1 with index v2: the index names another model version.
    const r1 = await app.inject({
      method: "POST",
      url: "/admin/reload",
      payload: { indexPath: v2.exactPath },
    });
    expect(r1.statusCode).toBe(409);
    expect(r1.json<{ error: { code: string; message: string } }>().error.message).toMatch(
      /index built for model version/,
    );
    // Model v1 and index v1, but the store's active version is v2.
    await expect(bundles.reload()).rejects.toThrow(CtxrecError);
    await expect(bundles.reload()).rejects.toThrow(/store's active version/);
    expect(bundles.current.modelVersion).toBe(fx.version);
    expect(bundles.generation).toBe(0);
    expect((await ask(fx.ds.userVocab.names[2])).statusCode).toBe(200);
    const m = (await app.inject({ method: "GET", url: "/metrics" })).body;
    expect(m).toMatch(/ctxrec_reloads_total\{result="refused"\} 1/);
  });

  it("lets a request in flight finish on the old bundle and closes it only afterwards", async () => {
    gate = new Promise((resolve) => {
      openGate = resolve;
    });
    const inFlight = ask(fx.ds.userVocab.names[3]); // blocked in its store lookup on v1
    await new Promise((r) => setTimeout(r, 20));
    const reload = await app.inject({
      method: "POST",
      url: "/admin/reload",
      payload: { modelDir: v2.modelDir, indexPath: v2.exactPath },
    });
    expect(reload.statusCode).toBe(200);
    expect(reload.json()).toMatchObject({
      previousVersion: fx.version,
      modelVersion: v2.version,
      generation: 1,
    });
    // New requests already get v2 while the old one is still waiting.
    const fresh = await ask(fx.ds.userVocab.names[4]);
    expect(fresh.json<{ modelVersion: string }>().modelVersion).toBe(v2.version);
    expect(closed).toEqual([]);
    openGate();
    const old = await inFlight;
    expect(old.statusCode).toBe(200);
    expect(old.json<{ modelVersion: string }>().modelVersion).toBe(fx.version);
    await new Promise((r) => setTimeout(r, 20));
    expect(closed).toEqual([fx.version]);
  });

  it("answers a burst of requests during a reload without a failure; answers switch to the new version", async () => {
    // Back to v1 as the active store version, so a reload to v1 is valid; then swap during a burst.
    const { openFeatureStore } = await import("../store/open.ts");
    const s1 = await openFeatureStore(fx.storeUrl, { modelVersion: fx.version, dim: 16, mode: "write" });
    await s1.activate();
    await s1.close();
    const users = fx.ds.userVocab.names.slice(1, 41);
    const versions: string[][] = [];
    const statuses: number[] = [];
    let reloaded = false;
    const reload = bundles.reload({ modelDir: fx.modelDir, indexPath: fx.exactPath }).then((r) => {
      reloaded = true;
      return r;
    });
    // Waves of 20 concurrent requests until the reload is done, then two more waves.
    let after = 0;
    for (let wave = 0; after < 2 && wave < 500; wave++) {
      if (reloaded) after++;
      const rs = await Promise.all(
        users.slice(0, 20).map((u, j) => ask(users[(j + wave) % users.length] ?? u)),
      );
      statuses.push(...rs.map((r) => r.statusCode));
      versions.push(rs.map((r) => r.json<{ modelVersion: string }>().modelVersion));
    }
    expect((await reload).modelVersion).toBe(fx.version);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(versions[0].every((v) => v === v2.version)).toBe(true);
    expect(versions[versions.length - 1].every((v) => v === fx.version)).toBe(true);
    // Once a wave saw only the new version, no later wave sees the old one.
    const firstNew = versions.findIndex((w) => w.every((v) => v === fx.version));
    for (const w of versions.slice(firstNew)) expect(w.every((v) => v === fx.version)).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(closed).toEqual([fx.version, v2.version]);
  });
});
