/**
 * `ctxrec serve --workers 2` as a real process tree (a cluster primary and two replicas on one
 * port), on the tiny serving fixture and a second model version published beside it:
 * both replicas answer; a burst of requests during a swap gets no error, and every answer is
 * wholly of one version (its candidates are exactly what that version answers for that user);
 * a refused reload leaves every replica on its version; SIGHUP to the primary reloads every
 * replica; a killed replica is replaced and serves the swapped version; SIGTERM stops all with
 * exit 0; a bad --workers and a replica that cannot start are refused with the reason.
 */
import type { ChildProcess } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WORKER_HEADER } from "../src/serve/replicaWorker.ts";
import {
  type AlternateBundle,
  makeServeFixture,
  publishAlternate,
  publishModel,
  type ServeFixture,
} from "../src/serve/testBundle.ts";
import { pingRedis } from "../src/store/redisCommon.ts";
import { parseStoreUrl, type RedisStoreUrl } from "../src/store/url.ts";
import { ctxrec, startServe } from "./cli.ts";

let fx: ServeFixture;
let v2: AlternateBundle;
let child: ChildProcess;
let base: URL;
/** The fixture's users asked in every wave. */
let users: string[];

interface Answer {
  status: number;
  pid: string;
  body: { modelVersion: string; candidates: { itemId: string; score: number }[]; generation?: number };
}

/** One request on a connection of its own (so that the primary's round-robin spreads them over the replicas). */
function request(method: string, route: string, body?: unknown): Promise<Answer> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      new URL(route, base),
      {
        method,
        agent: false,
        headers: payload === undefined ? {} : { "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.on("data", (b: Buffer) => {
          text += b.toString();
        });
        res.on("end", () => {
          const pid = String(res.headers[WORKER_HEADER] ?? "");
          const json = (res.headers["content-type"] ?? "").includes("json") ? JSON.parse(text) : { text };
          resolve({ status: res.statusCode ?? 0, pid, body: json });
        });
      },
    );
    // Node's round-robin can lose a connection it handed to a replica that was dying (see
    // docs/scale.md): such a request would otherwise hang the test.
    req.setTimeout(5_000, () => req.destroy(new Error(`${method} ${route}: no answer within 5 s`)));
    req.on("error", reject);
    req.end(payload);
  });
}

/** Each user's candidates under one version. */
type UserAnswers = Map<string, Answer["body"]["candidates"]>;

const ask = (userId: string) => request("POST", "/v1/candidates", { userId, k: 5 });
const metrics = async () => (await request("GET", "/metrics")).body as unknown as { text: string };

async function waitFor(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  for (const t0 = Date.now(); Date.now() - t0 < ms; ) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

const fixtureArgs = () => [
  "--model",
  fx.modelDir,
  "--index",
  fx.exactPath,
  "--store",
  fx.storeUrl,
  "--port",
  "0",
];

/** Until `done()`: waves of `users.length` concurrent requests; every answer, with the time its wave started. */
async function waves(done: () => boolean, extraWaves: number): Promise<{ startedAt: number; a: Answer }[]> {
  const out: { startedAt: number; a: Answer }[] = [];
  let after = 0;
  for (let w = 0; after < extraWaves && w < 500; w++) {
    if (done()) after++;
    const startedAt = Date.now();
    const rs = await Promise.all(users.map((u) => ask(u)));
    out.push(...rs.map((a) => ({ startedAt, a })));
  }
  return out;
}

/** Each user's answer from every replica (they must agree: the same version computes the same). */
async function answersByUser(version: string): Promise<UserAnswers> {
  const out: UserAnswers = new Map();
  for (const u of users) {
    const rs = await Promise.all([ask(u), ask(u), ask(u), ask(u)]);
    for (const r of rs) {
      expect(r.status).toBe(200);
      expect(r.body.modelVersion).toBe(version);
      expect(r.body.candidates).toEqual(rs[0].body.candidates);
    }
    out.set(u, rs[0].body.candidates);
  }
  return out;
}

/**
 * POSTs /admin/reload `body` during waves of requests and checks the swap from `from` (whose
 * answers per user are known) to `to`: no error; every answer is labelled `from` or `to` and holds
 * exactly that version's candidates for its user (no mix of versions); both versions were seen;
 * every wave that started after the reload answered is wholly `to`, from both replicas.
 */
async function burstDuringReload(body: object, from: string, fromAnswers: UserAnswers, to: string) {
  let reloadedAt = Number.POSITIVE_INFINITY;
  const reload = request("POST", "/admin/reload", body).then((r) => {
    reloadedAt = Date.now();
    return r;
  });
  const seen = await waves(() => reloadedAt !== Number.POSITIVE_INFINITY, 3);
  const r = await reload;
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ previousVersion: from, modelVersion: to });
  const byVersion = { [from]: fromAnswers, [to]: await answersByUser(to) };
  expect(seen.every(({ a }) => a.status === 200)).toBe(true);
  for (const [i, { a }] of seen.entries()) {
    expect([from, to]).toContain(a.body.modelVersion);
    // Each wave asks `users` in order.
    expect(a.body.candidates).toEqual(byVersion[a.body.modelVersion].get(users[i % users.length]));
  }
  expect(new Set(seen.map(({ a }) => a.body.modelVersion)).size).toBe(2);
  // Both replicas had swapped before the reload answered.
  const later = seen.filter(({ startedAt }) => startedAt >= reloadedAt);
  expect(later.length).toBeGreaterThanOrEqual(2 * users.length);
  expect(later.every(({ a }) => a.body.modelVersion === to)).toBe(true);
  expect(new Set(later.map(({ a }) => a.pid)).size).toBe(2);
}

/** SIGTERM to the primary: it exits 0 and no replica is left. */
async function stopTree(c: ChildProcess): Promise<void> {
  const pids = [...(await answeringPids(8))].map(Number);
  const exited = new Promise<number | null>((resolve) => c.once("exit", resolve));
  c.kill("SIGTERM");
  expect(await exited).toBe(0);
  for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
}

/** The pids that answer `n` requests on fresh connections. */
async function answeringPids(n: number): Promise<Set<string>> {
  const rs = await Promise.all(Array.from({ length: n }, () => request("GET", "/healthz")));
  return new Set(rs.map((r) => r.pid));
}

beforeAll(async () => {
  fx = await makeServeFixture(17);
  v2 = await publishAlternate(fx, 18, "v2");
  users = fx.ds.userVocab.names.slice(1, 13);
}, 180_000);

/** Starts `ctxrec serve ARGS… --workers 2` as the process the tests talk to. */
async function startTree(args: string[]): Promise<void> {
  const s = await startServe([...args, "--workers", "2", "--log-level", "warn"]);
  child = s.child;
  base = new URL(s.url);
}

afterAll(() => {
  if (child?.exitCode === null) child.kill("SIGKILL");
  fx?.cleanup();
});

describe("ctxrec serve --workers 2 (SQLite store)", () => {
  let v1Answers: UserAnswers;
  beforeAll(() => startTree(fixtureArgs()), 180_000);

  it("answers from both replicas on one port", async () => {
    const pids = await answeringPids(12);
    expect(pids.size).toBe(2);
    expect(pids.has(String(child.pid))).toBe(false); // the primary serves nothing itself
    v1Answers = await answersByUser(fx.version);
    const m = (await metrics()).text;
    expect(m).toMatch(/^ctxrec_workers 2$/m);
    // Summed over the replicas: one per replica serving the version.
    expect(m).toContain(`ctxrec_model_info{version="${fx.version}"} 2`);
  });

  it("swaps every replica during a burst: no error, every answer wholly of one version", async () => {
    const body = { modelDir: v2.modelDir, indexPath: v2.exactPath, storeUrl: v2.storeUrl };
    await burstDuringReload(body, fx.version, v1Answers, v2.version);
    const health = await Promise.all(Array.from({ length: 4 }, () => request("GET", "/healthz")));
    expect(health.every((h) => h.body.generation === 1)).toBe(true);
    const m = (await metrics()).text;
    expect(m).toMatch(/ctxrec_reloads_total\{result="ok"\} 2/);
    expect(m).toContain(`ctxrec_model_info{version="${v2.version}"} 2`);
  });

  it("refuses a reload whose parts disagree on every replica, and all keep serving their version", async () => {
    const r = await request("POST", "/admin/reload", { indexPath: fx.exactPath });
    expect(r.status).toBe(409);
    expect((r.body as unknown as { error: { code: string } }).error.code).toBe("CTXREC_ERR_ARTIFACT_VERSION");
    const rs = await Promise.all(users.map((u) => ask(u)));
    expect(rs.every((a) => a.status === 200 && a.body.modelVersion === v2.version)).toBe(true);
    expect((await metrics()).text).toMatch(/ctxrec_reloads_total\{result="refused"\} 2/);
  });

  it("reloads every replica on SIGHUP to the primary", async () => {
    child.kill("SIGHUP");
    await waitFor("both replicas reloaded", async () =>
      /ctxrec_reloads_total\{result="ok"\} 4/.test((await metrics()).text),
    );
    const hs = await Promise.all(Array.from({ length: 8 }, () => request("GET", "/healthz")));
    expect(new Set(hs.map((h) => h.pid)).size).toBe(2);
    expect(hs.every((h) => h.body.generation === 2 && h.body.modelVersion === v2.version)).toBe(true);
  });

  it("replaces a killed replica, which serves the version the others were swapped to", async () => {
    const before = await answeringPids(8);
    const victim = [...before][0];
    process.kill(Number(victim), "SIGKILL");
    await waitFor(
      "a replacement answers",
      async () => {
        const pids = await answeringPids(6);
        return pids.size === 2 && !pids.has(victim);
      },
      60_000,
    );
    const rs = await Promise.all(users.map((u) => ask(u)));
    expect(rs.every((a) => a.status === 200 && a.body.modelVersion === v2.version)).toBe(true);
    const m = (await metrics()).text;
    expect(m).toMatch(/^ctxrec_worker_restarts_total 1$/m);
    expect(m).toMatch(/^ctxrec_workers 2$/m);
  });

  it("stops every replica and exits 0 on SIGTERM", () => stopTree(child));

  it("refuses a bad --workers, naming the flag", () => {
    const r = ctxrec(["serve", ...fixtureArgs(), "--workers", "0"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/CTXREC_ERR_ARG: parameter --workers: expected an integer in \[1, 64\], got 0/);
  });

  it("exits 2 with a replica's start error (an index of another model version)", () => {
    const r = ctxrec([
      "serve",
      ...fixtureArgs().map((a) => (a === fx.exactPath ? v2.exactPath : a)),
      "--workers",
      "2",
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/CTXREC_ERR_ARTIFACT_VERSION/);
    // Reported once, by the primary, as a single process would.
    expect(r.stderr.match(/CTXREC_ERR_ARTIFACT_VERSION/g)).toHaveLength(1);
  });
});

// The rollout in ONE store, as `ctxrec encode` of a new model leaves it: both versions' states,
// the active pointer moved to the new one while the replicas serve the old. Redis gets its own
// database (13): the command line uses the default key prefix, and other suites' stores in
// database 15 share its active-version pointer.
const redisUrl = `${(process.env.CTXREC_TEST_REDIS_URL ?? "redis://127.0.0.1:6379/15").replace(/\/\d+$/, "")}/13`;
const inCi = process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false";
const redisUp = await pingRedis(parseStoreUrl(redisUrl) as RedisStoreUrl, 2_000).then(
  (r) => {
    r.disconnect();
    return true;
  },
  () => false,
);

/** Deletes the default prefix's keys in the test database. */
async function clearRedisStore(): Promise<void> {
  const r = await pingRedis(parseStoreUrl(redisUrl) as RedisStoreUrl, 2_000);
  const keys = await r.keys("ctxrec:fs*");
  if (keys.length > 0) await r.del(...keys);
  r.disconnect();
}

const rolloutStores = [
  {
    tag: "sqlite",
    name: "SQLite",
    url: () => `file:${path.join(fx.root, "rollout.db")}`,
    run: true,
    clear: async () => {},
  },
  {
    tag: "redis",
    name:
      redisUp || inCi
        ? "Redis"
        : `Redis: skipped, no Redis server at ${redisUrl} (start one: redis-server --port 6379 --bind 127.0.0.1 --daemonize yes)`,
    url: () => redisUrl,
    run: redisUp || inCi,
    clear: () => (redisUp ? clearRedisStore() : Promise.resolve()),
  },
];

// A loop, not describe.each: its $name would cut the skip reason short.
for (const store of rolloutStores) {
  describe(`ctxrec serve --workers 2, rollout in one store (${store.name})`, () => {
    let v1Answers: UserAnswers;
    const scratch = (name: string) => path.join(fx.root, `rollout-${store.tag}-${name}`);
    beforeAll(async () => {
      if (!store.run) return;
      await store.clear();
      await publishModel(fx.ds, fx.modelDir, store.url(), scratch("v1-exact"), scratch("v1-hnsw"));
      await startTree([
        "--model",
        fx.modelDir,
        "--index",
        fx.exactPath,
        "--store",
        store.url(),
        "--port",
        "0",
      ]);
    }, 180_000);
    afterAll(async () => {
      if (child?.exitCode === null) child.kill("SIGKILL");
      await store.clear();
    });

    it.skipIf(!store.run)("keeps serving v1 while v2 is encoded and activated in the store", async () => {
      v1Answers = await answersByUser(fx.version);
      // The writer (this process) fills v2's namespace while both replicas read v1's.
      let written = false;
      const publishing = publishModel(
        fx.ds,
        v2.modelDir,
        store.url(),
        scratch("v2-exact"),
        scratch("v2-hnsw"),
      ).then(() => {
        written = true;
      });
      const seen = await waves(() => written, 1);
      await publishing;
      expect(seen.every(({ a }) => a.status === 200 && a.body.modelVersion === fx.version)).toBe(true);
    });

    it.skipIf(!store.run)(
      "swaps every replica to v2 during a burst: no error, every answer wholly of one version",
      async () => {
        const body = { modelDir: v2.modelDir, indexPath: v2.exactPath };
        await burstDuringReload(body, fx.version, v1Answers, v2.version);
      },
    );

    it.skipIf(!store.run)("stops every replica and exits 0 on SIGTERM", () => stopTree(child));
  });
}
