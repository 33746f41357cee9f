/**
 * The candidate service through `app.inject()`: answers, cold start, subject exclusion, country
 * filter, every kind of bad request (4xx naming the field, never a crash), health and metrics.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wrapError } from "../core/errors.ts";
import type { FeatureStore } from "../store/featureStore.ts";
import { buildServer, type ServerOptions } from "./server.ts";
import { BundleHandle } from "./swap.ts";
import { fixtureBundles, makeServeFixture, type ServeFixture } from "./testBundle.ts";

let fx: ServeFixture;
let app: FastifyInstance;
let bundles: BundleHandle;

beforeAll(async () => {
  fx = await makeServeFixture(3);
  bundles = await fixtureBundles(fx);
  app = buildServer(bundles, { maxK: 50 });
});

afterAll(async () => {
  await app?.close();
  await bundles?.closeAll();
  fx?.cleanup();
});

const post = (payload: unknown) =>
  app.inject({ method: "POST", url: "/v1/candidates", payload: payload as object });
/** A body sent as given, with a JSON content type. */
const postRaw = (payload: string) =>
  app.inject({
    method: "POST",
    url: "/v1/candidates",
    headers: { "content-type": "application/json" },
    payload,
  });

/** A user with events (so with a cached state) and an item id of the catalogue. */
const user = () => fx.ds.userVocab.names[1];
const item = (code: number) => fx.ds.itemVocab.names[code];

interface Answer {
  candidates: { itemId: string; score: number }[];
  modelVersion: string;
  stateAgeSeconds: number | null;
  coldStart: boolean;
  timings: { storeMs: number; towerMs: number; annMs: number };
  warnings?: string[];
}

describe("POST /v1/candidates", () => {
  it("answers k candidates, best first, with the model version, state age and stage timings", async () => {
    const r = await post({ userId: user(), k: 10 });
    expect(r.statusCode).toBe(200);
    const a = r.json<Answer>();
    expect(a.candidates).toHaveLength(10);
    expect(a.modelVersion).toBe(fx.version);
    expect(a.coldStart).toBe(false);
    expect(a.stateAgeSeconds).toBeGreaterThanOrEqual(0);
    for (let j = 1; j < 10; j++) expect(a.candidates[j].score).toBeLessThanOrEqual(a.candidates[j - 1].score);
    expect(new Set(a.candidates.map((c) => c.itemId)).size).toBe(10);
    for (const t of [a.timings.storeMs, a.timings.towerMs, a.timings.annMs])
      expect(t).toBeGreaterThanOrEqual(0);
  });

  it("leaves the subject item out, even when it would rank first", async () => {
    // Ask for every item: the subject must be the only one missing (N − 1 answers).
    const n = fx.ds.itemVocab.size - 1;
    const subject = item(5);
    const r = await app.inject({
      method: "POST",
      url: "/v1/candidates",
      payload: { userId: user(), context: { subjectItemId: subject }, k: 50 },
    });
    expect(r.statusCode).toBe(200);
    const ids = r.json<Answer>().candidates.map((c) => c.itemId);
    expect(ids).toHaveLength(Math.min(50, n - 1));
    expect(ids).not.toContain(subject);
  });

  it("takes a context as category weights; the subject item and its own categories give the same answer", async () => {
    // Item → top-k categories, normalised, is the rule both paths use; listing the item's categories
    // with its confidences must reproduce the subject-item embedding (scores equal).
    const code = 7;
    const f = fx.ds;
    const categories: { id: string; confidence: number }[] = [];
    for (let j = f.catOffsets[code]; j < f.catOffsets[code + 1]; j++)
      categories.push({ id: f.categoryVocab.names[f.catIds[j]], confidence: f.catConf[j] });
    const bySubject = (
      await post({ userId: user(), context: { subjectItemId: item(code) }, k: 20 })
    ).json<Answer>();
    const byCats = (await post({ userId: user(), context: { categories }, k: 20 })).json<Answer>();
    const s = new Map(bySubject.candidates.map((c) => [c.itemId, c.score]));
    let compared = 0;
    for (const c of byCats.candidates) {
      if (!s.has(c.itemId)) continue; // the subject item itself is only excluded on the subject path
      expect(c.score).toBeCloseTo(s.get(c.itemId) as number, 5);
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(18);
  });

  it("takes the cold-start path for a user without cached state, and counts it", async () => {
    const r = await post({ userId: "no-such-user", demographics: { country: "US", age: 30 }, k: 5 });
    expect(r.statusCode).toBe(200);
    const a = r.json<Answer>();
    expect(a.coldStart).toBe(true);
    expect(a.stateAgeSeconds).toBeNull();
    expect(a.candidates).toHaveLength(5);
    const m = await app.inject({ method: "GET", url: "/metrics" });
    expect(m.body).toMatch(/^ctxrec_cold_start_total [1-9]/m);
  });

  it("returns only items eligible in filter.country", async () => {
    const ds = fx.ds;
    const names = ds.demographics.country.vocab.names;
    // A country some items are restricted to (if the world has one).
    const restricted = new Set(Array.from(ds.itemCountries));
    const country = [...restricted].map((c) => names[c])[0];
    expect(country).toBeDefined();
    const code = names.indexOf(country);
    const r = await post({ userId: user(), k: 50, filter: { country } });
    expect(r.statusCode).toBe(200);
    for (const c of r.json<Answer>().candidates) {
      const i = ds.itemVocab.names.indexOf(c.itemId);
      const list = Array.from(
        ds.itemCountries.subarray(ds.itemCountryOffsets[i], ds.itemCountryOffsets[i + 1]),
      );
      // Unrestricted (no list) or listing the country.
      expect(list.length === 0 || list.includes(code)).toBe(true);
    }
  });

  it("treats an unknown demographic value as missing and says so", async () => {
    const plain = (await post({ userId: user(), k: 10 })).json<Answer>();
    const r = await post({ userId: user(), demographics: { country: "Atlantis" }, k: 10 });
    expect(r.statusCode).toBe(200);
    const a = r.json<Answer>();
    expect(a.warnings).toEqual(["demographics.country: unknown value, treated as missing"]);
    expect(a.candidates.map((c) => c.itemId)).toEqual(plain.candidates.map((c) => c.itemId));
  });
});

describe("bad requests: 4xx naming the field, never a crash", () => {
  const cases: [
    string,
    () => Promise<{ statusCode: number; json: () => unknown }>,
    number,
    string | undefined,
    RegExp,
  ][] = [
    [
      "malformed JSON",
      () =>
        app.inject({
          method: "POST",
          url: "/v1/candidates",
          headers: { "content-type": "application/json" },
          payload: '{"userId": "u1", "k": ',
        }),
      400,
      "body",
      /JSON/,
    ],
    [
      "no body",
      () => app.inject({ method: "POST", url: "/v1/candidates" }),
      400,
      "body",
      /expected object|no body/,
    ],
    [
      "wrong content type",
      () =>
        app.inject({
          method: "POST",
          url: "/v1/candidates",
          headers: { "content-type": "text/plain" },
          payload: "hello",
        }),
      415,
      "body",
      /application\/json/,
    ],
    ["k as a string", () => post({ userId: "u", k: "10" }), 400, "body.k", /integer in \[1, 50\].*"10"/],
    ["k above the maximum", () => post({ userId: "u", k: 51 }), 400, "body.k", /ask for fewer/],
    ["k = 0", () => post({ userId: "u", k: 0 }), 400, "body.k", /integer in \[1, 50\]/],
    ["k not an integer", () => post({ userId: "u", k: 2.5 }), 400, "body.k", /integer/],
    ["missing userId", () => post({ k: 3 }), 400, "body.userId", /non-empty string/],
    ["empty userId", () => post({ userId: "", k: 3 }), 400, "body.userId", /non-empty string/],
    ["unknown field", () => post({ userId: "u", k: 3, kk: 1 }), 400, "body", /unknown field.*"kk"/],
    [
      "unknown subject item",
      () => post({ userId: "u", k: 3, context: { subjectItemId: "no-such-item" } }),
      404,
      "body.context.subjectItemId",
      /unknown item id "no-such-item"/,
    ],
    [
      "unknown category",
      () => post({ userId: "u", k: 3, context: { categories: [{ id: "no-such-cat", confidence: 1 }] } }),
      404,
      "body.context.categories[0].id",
      /unknown category id "no-such-cat"/,
    ],
    [
      "confidence out of range",
      () => post({ userId: "u", k: 3, context: { categories: [{ id: "x", confidence: 1.5 }] } }),
      400,
      "body.context.categories[0].confidence",
      /\(0, 1\]/,
    ],
    [
      "both subject item and categories",
      () =>
        post({
          userId: "u",
          k: 3,
          context: { subjectItemId: "1", categories: [{ id: "x", confidence: 1 }] },
        }),
      400,
      "body.context",
      /exactly one/,
    ],
    [
      "age as a string",
      () => post({ userId: "u", k: 3, demographics: { age: "30" } }),
      400,
      "body.demographics.age",
      /integer age/,
    ],
    [
      "filter without country",
      () => post({ userId: "u", k: 3, filter: {} }),
      400,
      "body.filter.country",
      /non-empty/,
    ],
    ["a JSON array", () => post([1, 2]), 400, "body", /expected object/],
    [
      "a body over 64 KiB",
      () => post({ userId: "x".repeat(70_000), k: 1 }),
      413,
      "body",
      /FST_ERR_CTP_BODY_TOO_LARGE/,
    ],
    ["an empty body with a JSON content type", () => postRaw(""), 400, "body", /FST_ERR_CTP_EMPTY_JSON_BODY/],
    ["JSON null", () => postRaw("null"), 400, "body", /expected object/],
    ["a __proto__ key", () => postRaw('{"userId":"u","k":1,"__proto__":{"x":1}}'), 400, "body", /JSON/],
    ["an id over 512 characters", () => post({ userId: "u".repeat(513), k: 1 }), 400, "body.userId", /512/],
    // Huge k: above the bound, beyond 2^53, and a literal that JSON.parse reads as Infinity.
    ["k = 1e9", () => post({ userId: "u", k: 1e9 }), 400, "body.k", /ask for fewer/],
    ["k = 2^60", () => postRaw('{"userId":"u","k":1152921504606846976}'), 400, "body.k", /\[1, 50\]/],
    ["k = 1e400", () => postRaw('{"userId":"u","k":1e400}'), 400, "body.k", /received Infinity/],
    ["k negative", () => post({ userId: "u", k: -3 }), 400, "body.k", /\[1, 50\]/],
    [
      "a badly encoded URL",
      () => app.inject({ method: "GET", url: "/%zz" }),
      400,
      "url",
      /FST_ERR_BAD_URL.*percent-encoded/,
    ],
    [
      "GET on the POST route",
      () => app.inject({ method: "GET", url: "/v1/candidates" }),
      404,
      undefined,
      /no route GET \/v1\/candidates/,
    ],
    [
      "a reload from a non-loopback address, even with a bad body",
      () =>
        app.inject({
          method: "POST",
          url: "/admin/reload",
          remoteAddress: "10.1.2.3",
          payload: { modelDir: 3 },
        }),
      403,
      undefined,
      /only accepted from loopback, not 10\.1\.2\.3/,
    ],
    [
      "a reload path that is not a string",
      () => app.inject({ method: "POST", url: "/admin/reload", payload: { modelDir: 3 } }),
      400,
      "body.modelDir",
      /non-empty path string, received 3/,
    ],
    [
      "a reload with an unknown field",
      () => app.inject({ method: "POST", url: "/admin/reload", payload: { model: "x" } }),
      400,
      "body",
      /unknown field.*"model"/,
    ],
    [
      "a reload body that is not an object",
      () => app.inject({ method: "POST", url: "/admin/reload", payload: [1] }),
      400,
      "body",
      /expected object/,
    ],
  ];
  for (const [name, send, status, field, message] of cases) {
    it(`${name} → ${status} naming ${field ?? "no field"}`, async () => {
      const r = await send();
      expect(r.statusCode).toBe(status);
      const e = (r.json() as { error: { code: string; message: string; field?: string } }).error;
      expect(e.field).toBe(field);
      expect(e.message).toMatch(message);
      expect(e.code).toMatch(/^CTXREC_ERR_/);
    });
  }

  it("a duplicated category → 400 naming the second one", async () => {
    const c = fx.ds.categoryVocab.names[1];
    const r = await post({
      userId: "u",
      k: 3,
      context: {
        categories: [
          { id: c, confidence: 0.5 },
          { id: c, confidence: 0.5 },
        ],
      },
    });
    expect(r.statusCode).toBe(400);
    expect(r.json<{ error: { field: string } }>().error.field).toBe("body.context.categories[1].id");
  });

  it("an unknown route → 404 listing the routes; the server still answers afterwards", async () => {
    const r = await app.inject({ method: "GET", url: "/v2/nothing" });
    expect(r.statusCode).toBe(404);
    expect(r.json<{ error: { message: string } }>().error.message).toMatch(/POST \/v1\/candidates/);
    expect((await post({ userId: user(), k: 1 })).statusCode).toBe(200);
  });

  it("errors are counted by kind in /metrics", async () => {
    const m = (await app.inject({ method: "GET", url: "/metrics" })).body;
    for (const [code, status] of [
      ["CTXREC_ERR_REQUEST", 400],
      ["CTXREC_ERR_DATA_UNKNOWN_ID", 404],
      ["CTXREC_ERR_REQUEST", 404], // unknown routes
      ["CTXREC_ERR_REQUEST", 403], // reloads from afar
      ["CTXREC_ERR_REQUEST", 413],
      ["CTXREC_ERR_REQUEST", 415],
    ] as const)
      expect(m).toMatch(
        new RegExp(`ctxrec_request_errors_total\\{code="${code}",status="${status}"\\} [1-9]`),
      );
  });
});

describe("failures inside the service answer the error shape too", () => {
  /** A server over the fixture's bundle with some of its store's methods replaced. */
  function withStore(patch: Partial<FeatureStore>, opts: ServerOptions = {}): FastifyInstance {
    const b = bundles.current;
    const store: FeatureStore = Object.assign(Object.create(b.store), patch);
    const handle = new BundleHandle({ ...b, store }, () =>
      Promise.reject(new Error("no reloads in this test")),
    );
    return buildServer(handle, opts);
  }
  const ask = (a: FastifyInstance) =>
    a.inject({ method: "POST", url: "/v1/candidates", payload: { userId: user(), k: 3 } });
  const errorOf = (r: { json: () => unknown }) =>
    (r.json() as { error: { code: string; message: string; field?: string } }).error;

  it("an unexpected exception → 500 CTXREC_ERR_INTERNAL with its message, counted", async () => {
    const a = withStore({ get: () => Promise.reject(new TypeError("boom")) });
    const r = await ask(a);
    expect(r.statusCode).toBe(500);
    expect(errorOf(r)).toEqual({ code: "CTXREC_ERR_INTERNAL", message: "internal error: boom" });
    const m = (await a.inject({ method: "GET", url: "/metrics" })).body;
    expect(m).toMatch(/ctxrec_request_errors_total\{code="CTXREC_ERR_INTERNAL",status="500"\} 1/);
    await a.close();
  });

  it("an unreachable store → 503 CTXREC_ERR_STORE; /healthz says so in its own shape", async () => {
    const down = () =>
      Promise.reject(wrapError("CTXREC_ERR_STORE", new Error("ECONNREFUSED"), "is redis-server running?"));
    const a = withStore({ get: down, activeVersion: down });
    const r = await ask(a);
    expect(r.statusCode).toBe(503);
    expect(errorOf(r)).toEqual({
      code: "CTXREC_ERR_STORE",
      message: "ECONNREFUSED (is redis-server running?)",
    });
    const h = await a.inject({ method: "GET", url: "/healthz" });
    expect(h.statusCode).toBe(503);
    expect(h.json()).toMatchObject({
      status: "store unavailable",
      error: { code: "CTXREC_ERR_STORE", message: "ECONNREFUSED (is redis-server running?)" },
      modelVersion: fx.version,
      store: { version: fx.version },
    });
    await a.close();
  });

  it("a request stuck in the store past the handler timeout → 503 CTXREC_ERR_TIMEOUT, and the server goes on", async () => {
    let release: () => void = () => {};
    const stuck = new Promise<undefined>((resolve) => {
      release = () => resolve(undefined);
    });
    const a = withStore({ get: () => stuck }, { handlerTimeoutMs: 100 });
    const r = await ask(a);
    expect(r.statusCode).toBe(503);
    const e = errorOf(r);
    expect(e.code).toBe("CTXREC_ERR_TIMEOUT");
    expect(e.message).toMatch(/timed out after 100 ms on route '\/v1\/candidates'/);
    expect(e.field).toBeUndefined();
    release(); // the handler finishes late; its answer is dropped
    expect((await a.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
    await a.close();
  });
});

describe("GET /healthz, GET /metrics, POST /admin/reload", () => {
  it("reports the model version, index size, store version and uptime", async () => {
    const r = await app.inject({ method: "GET", url: "/healthz" });
    expect(r.statusCode).toBe(200);
    const h = r.json<Record<string, unknown>>();
    expect(h).toMatchObject({
      status: "ok",
      modelVersion: fx.version,
      index: { kind: "exact", size: fx.ds.itemVocab.size - 1 },
      store: { version: fx.version, activeVersion: fx.version },
    });
    expect(h.uptimeSeconds).toBeGreaterThanOrEqual(0);
  });

  it("exports per-stage latency histograms and the store refusal counter", async () => {
    const m = (await app.inject({ method: "GET", url: "/metrics" })).body;
    for (const stage of ["store", "tower", "ann", "total"])
      expect(m).toMatch(new RegExp(`ctxrec_request_duration_seconds_count\\{stage="${stage}"\\} [1-9]`));
    expect(m).toMatch(/^ctxrec_store_version_refusals_total 0/m);
    expect(m).toMatch(new RegExp(`ctxrec_model_info\\{version="${fx.version}"\\} 1`));
  });

  it("refuses a reload from a non-loopback address", async () => {
    const r = await app.inject({ method: "POST", url: "/admin/reload", remoteAddress: "10.1.2.3" });
    expect(r.statusCode).toBe(403);
    expect(bundles.generation).toBe(0);
  });
});
