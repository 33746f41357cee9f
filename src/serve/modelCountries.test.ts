/**
 * `filter.country` from the model folder alone: a bundle loaded with only model + index + store
 * (no data set) filters by the item countries `saveModel` stored, and a model folder written before
 * item countries were stored still loads and serves, unfiltered.
 */
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stripItemCountries } from "../model/testWorld.ts";
import { exportOnnx } from "../onnx/export.ts";
import { createStoreCounters } from "../store/featureStore.ts";
import { loadBundle } from "./bundle.ts";
import { buildServer } from "./server.ts";
import { BundleHandle, bundleLoader } from "./swap.ts";
import { makeServeFixture, publishModel, type ServeFixture, saveTinyModel } from "./testBundle.ts";

let fx: ServeFixture;
const open: { app: FastifyInstance; bundles: BundleHandle }[] = [];

beforeAll(async () => {
  fx = await makeServeFixture(5);
}, 120_000);

afterAll(async () => {
  for (const o of open) {
    await o.app.close();
    await o.bundles.closeAll();
  }
  fx?.cleanup();
});

/** A service over model + index + store only (no itemCountries in the source). */
async function serve(modelDir: string, indexPath: string, storeUrl: string) {
  const opts = { counters: createStoreCounters() };
  const bundles = new BundleHandle(
    await loadBundle({ modelDir, indexPath, storeUrl }, opts),
    bundleLoader(opts),
  );
  const app = buildServer(bundles, { maxK: 1000 });
  open.push({ app, bundles });
  return { app, bundles };
}

/** The country some items are restricted to, its code, and which items are NOT eligible there. */
function restrictedCountry() {
  const ds = fx.ds;
  const names = ds.demographics.country.vocab.names;
  const code = ds.itemCountries[0];
  expect(code).toBeDefined();
  const ineligible = new Set<string>();
  for (let i = 1; i < ds.itemVocab.names.length; i++) {
    const list = Array.from(
      ds.itemCountries.subarray(ds.itemCountryOffsets[i], ds.itemCountryOffsets[i + 1]),
    );
    // Unrestricted (no list) or listing the country: eligible; otherwise not.
    if (list.length > 0 && !list.includes(code)) ineligible.add(ds.itemVocab.names[i]);
  }
  return { country: names[code], ineligible };
}

/** Asks for every item (k = N) for the first user, filtered to `country`. */
function requestAllItems(app: Awaited<ReturnType<typeof serve>>["app"], country: string) {
  return app.inject({
    method: "POST",
    url: "/v1/candidates",
    payload: { userId: fx.ds.userVocab.names[1], k: fx.ds.itemVocab.names.length - 1, filter: { country } },
  });
}

interface Answer {
  candidates: { itemId: string; score: number }[];
  warnings?: string[];
}

describe("country filter from the model folder", () => {
  it("filters by the model's item countries with only --model/--index/--store", async () => {
    const { app, bundles } = await serve(fx.modelDir, fx.exactPath, fx.storeUrl);
    expect(bundles.current.countryFilter).toBeDefined();
    const { country, ineligible } = restrictedCountry();
    // The tiny world restricts some items to other countries, else the check below proves nothing.
    expect(ineligible.size).toBeGreaterThan(0);
    const n = fx.ds.itemVocab.names.length - 1;
    const r = await requestAllItems(app, country);
    expect(r.statusCode).toBe(200);
    const a = r.json<Answer>();
    // Every eligible item comes back (k = N over the exact index), no ineligible one.
    expect(a.candidates).toHaveLength(n - ineligible.size);
    for (const c of a.candidates) expect(ineligible.has(c.itemId)).toBe(false);
    expect(a.warnings).toBeUndefined();
  });

  it("serves a model folder written before item countries were stored, unfiltered", async () => {
    const dir = path.join(fx.root, "legacy-model");
    await saveTinyModel(fx.ds, dir, 5);
    stripItemCountries(dir);
    // The ONNX export names the model version, which the rewrite changed: export again.
    await exportOnnx(dir);
    const storeUrl = `file:${path.join(fx.root, "legacy-state.db")}`;
    const exactPath = path.join(fx.root, "legacy-exact.ctxidx");
    await publishModel(fx.ds, dir, storeUrl, exactPath, path.join(fx.root, "legacy-hnsw.ctxidx"));
    const { app, bundles } = await serve(dir, exactPath, storeUrl);
    expect(bundles.current.tables.itemCountries).toBeUndefined();
    expect(bundles.current.countryFilter).toBeUndefined();
    const { country, ineligible } = restrictedCountry();
    const n = fx.ds.itemVocab.names.length - 1;
    const r = await requestAllItems(app, country);
    expect(r.statusCode).toBe(200);
    // No countries known: every item is eligible, the restricted ones included.
    const ids = new Set(r.json<Answer>().candidates.map((c) => c.itemId));
    expect(ids.size).toBe(n);
    for (const id of ineligible) expect(ids.has(id)).toBe(true);
  }, 60_000);
});
