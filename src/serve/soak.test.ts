/**
 * `bench:soak` at test scale (counts, not times): 400 requests over real loopback sockets in waves
 * of 20, a tenth of them from the malformed mix of `abuse.ts` (every case several times), two hot
 * swaps A → B → A through `POST /admin/reload` to bundles with their own store, and two slow
 * senders (headers that never end, a body that never ends; shortened timeouts). Asserts: no 5xx,
 * no connection error, every malformed request answered with its documented status, code and
 * field, both versions served, in order; a non-loopback reload is refused.
 */
import http from "node:http";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  abuseCases,
  type CaseTally,
  malformedSlot,
  type Outcome,
  postCandidates,
  sendCase,
  sendHttp,
  slowSenderCases,
  tallyOutcome,
  violation,
} from "./abuse.ts";
import { DEFAULT_HOST } from "./limits.ts";
import { buildServer } from "./server.ts";
import type { BundleHandle } from "./swap.ts";
import { fixtureBundles, makeServeFixture, publishAlternate, type ServeFixture } from "./testBundle.ts";

const MAX_K = 20;
const REQUESTS = 400;
const WAVE = 20;
const SHARE = 0.1;

let fx: ServeFixture;
let b: { modelDir: string; indexPath: string; storeUrl: string; version: string };
let bundles: BundleHandle;
let app: FastifyInstance;
let base: URL;

beforeAll(async () => {
  fx = await makeServeFixture(11);
  // Bundle B: another seed on the same data, in its own store, so A and B stay loadable both ways.
  const alt = await publishAlternate(fx, 12, "b");
  b = { modelDir: alt.modelDir, indexPath: alt.exactPath, storeUrl: alt.storeUrl, version: alt.version };
  bundles = await fixtureBundles(fx);
  // Handler timeout below the request timeout, as in production (5 s / 10 s), but shorter.
  app = buildServer(bundles, { maxK: MAX_K, handlerTimeoutMs: 1_000, requestTimeoutMs: 2_000 });
  base = new URL(await app.listen({ port: 0, host: DEFAULT_HOST }));
}, 120_000);

afterAll(async () => {
  await app?.close();
  await bundles?.closeAll();
  fx?.cleanup();
});

describe("soak at test scale", () => {
  it("serves the mix through two hot swaps with no 5xx, no connection error, every bad request its 4xx", async () => {
    const users = fx.ds.userVocab.names.slice(1);
    const items = fx.ds.itemVocab.names.slice(1);
    const cases = abuseCases(MAX_K, users[0]);
    const agent = new http.Agent({ keepAlive: true, maxSockets: WAVE });
    const tally = new Map<string, CaseTally>();
    const versions: string[] = [];
    let fiveXx = 0;
    let connectionErrors = 0;
    let goodFailures = 0;
    const a = { modelDir: fx.modelDir, indexPath: fx.exactPath, storeUrl: fx.storeUrl };
    const swapAt = new Map([
      [140, b],
      [280, a],
    ]);
    const count = (o: Outcome) => {
      if (o.socketError !== undefined) connectionErrors++;
      if ((o.status ?? 0) >= 500) fiveXx++;
    };
    const one = async (i: number) => {
      const slot = malformedSlot(i, SHARE, cases.length);
      if (slot !== undefined) {
        const c = cases[slot];
        const o = await sendCase(base, agent, c);
        count(o);
        tallyOutcome(tally, c.name, c.expect, o);
        return;
      }
      const o = await postCandidates(base, agent, {
        userId: users[i % users.length],
        k: 1 + (i % MAX_K),
        context: { subjectItemId: items[i % items.length] },
      });
      count(o);
      if (o.status === 200) versions.push((o.body as { modelVersion: string }).modelVersion);
      else goodFailures++;
    };
    const slow = Promise.all(slowSenderCases.map((c) => sendCase(base, agent, c)));
    for (let w = 0; w < REQUESTS; w += WAVE) {
      const swap = swapAt.get(w);
      const wave = Array.from({ length: WAVE }, (_, j) => one(w + j));
      // The reload runs while the wave is in flight.
      if (swap !== undefined) {
        const r = await sendHttp(base, agent, {
          method: "POST",
          path: "/admin/reload",
          contentType: "application/json",
          body: JSON.stringify({
            modelDir: swap.modelDir,
            indexPath: swap.indexPath,
            storeUrl: swap.storeUrl,
          }),
        });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
      }
      await Promise.all(wave);
    }
    const slowOutcomes = await slow;
    agent.destroy();

    for (const [i, c] of slowSenderCases.entries())
      expect(violation(c.expect, slowOutcomes[i]), c.name).toBeUndefined();
    const broken = [...tally].filter(([, t]) => t.kept !== t.sent);
    expect(broken, JSON.stringify(broken, null, 1)).toEqual([]);
    // 400 requests × 0.1 = 40 malformed over 15 cases: each case at least twice.
    expect(tally.size).toBe(cases.length);
    for (const [name, t] of tally) expect(t.sent, name).toBeGreaterThanOrEqual(2);
    expect(fiveXx).toBe(0);
    expect(connectionErrors).toBe(0);
    expect(goodFailures).toBe(0);
    expect(versions.length).toBe(REQUESTS - [...tally.values()].reduce((s, t) => s + t.sent, 0));
    // Served A, then B, then A: the version changes exactly twice (requests of a wave in flight
    // during a reload may finish on either side of it, but each side is one run).
    const runs = versions.filter((v, i) => i === 0 || v !== versions[i - 1]);
    expect(runs).toEqual([fx.version, b.version, fx.version]);
    expect(bundles.generation).toBe(2);
  });

  it("refuses /admin/reload from a non-loopback caller with 403 in the error shape, nothing reloaded", async () => {
    const r = await app.inject({
      method: "POST",
      url: "/admin/reload",
      remoteAddress: "10.1.2.3",
      payload: {},
    });
    expect(
      violation({ status: 403, code: "CTXREC_ERR_REQUEST" }, { status: r.statusCode, body: r.json() }),
    ).toBeUndefined();
    expect(bundles.generation).toBe(2);
  });
});
