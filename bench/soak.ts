/**
 * Soak and abuse run of `ctxrec serve` (issue #12 part 4), loopback only, bounded in time and count:
 * the server in a child process (so its RSS is its own, read from /proc), an open-loop paced load
 * (bench/httpLoad.ts) of POST /v1/candidates at a fixed rate with a share of malformed requests
 * from src/serve/abuse.ts (bad JSON, wrong types, unknown items/categories/users, bodies over
 * 64 KiB, k over --max-k and 2^60, ids over 512 characters, headers over 16 KiB, malformed HTTP,
 * wrong Content-Type, unknown route), a hot swap (POST /admin/reload to the other of two bundles,
 * each with its own store) every `--swap-every` seconds, and once a minute a sender that never
 * finishes its headers (the 10 s request timeout must answer 408) and one that never finishes its
 * body (the 5 s handler timeout must answer 408 naming body).
 *
 * Verdicts: no 5xx; no connection error (reset, refused, hang-up) on any request; RSS growth
 * < 5% from just after the warm-up (first quarter, at most 60 s) to the end; every malformed
 * request answered with its documented status, code and field; every reload swapped and the
 * answers' modelVersion followed; the keep-alive header on every answer; the server listening on
 * 127.0.0.1 by default and not reachable on the machine's other addresses.
 *
 *   npm run bench:soak                                 # 600 s at 500 req/s, 5% malformed
 *   npm run bench:soak -- --duration 120 --rate 500    # shorter
 * Flags: --duration S, --rate R, --share F, --swap-every S, --seed N
 * Writes bench/results/soak.json + soak.md.
 */
import { execSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import {
  abuseCases,
  type CaseTally,
  malformedSlot,
  type Outcome,
  postCandidates,
  sendCase,
  sendHttp,
  sendRaw,
  slowSenderCases,
  tallyOutcome,
} from "../src/serve/abuse.ts";
import { DEFAULT_MAX_K } from "../src/serve/api.ts";
import { SERVE_LIMITS } from "../src/serve/limits.ts";
import { makeServeFixture, publishAlternate } from "../src/serve/testBundle.ts";
import { paced, startServer } from "./httpLoad.ts";

const { values: opt } = parseArgs({
  options: {
    duration: { type: "string", default: "600" },
    rate: { type: "string", default: "500" },
    share: { type: "string", default: "0.05" },
    "swap-every": { type: "string", default: "60" },
    seed: { type: "string", default: "21" },
  },
});
const DURATION = Number(opt.duration);
const RATE = Number(opt.rate);
const SHARE = Number(opt.share);
const SWAP_EVERY = Number(opt["swap-every"]);
const SEED = Number(opt.seed);
const WARMUP = Math.min(60, DURATION / 4);
const repoRoot = path.resolve(import.meta.dirname, "..");
const log = (s: string) => process.stderr.write(`[bench:soak] ${s}\n`);
const quantile = (xs: number[], p: number) => {
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
};
const r3 = (x: number) => Number(x.toFixed(3));

const loadStart = os.loadavg();
log(`load average at start ${loadStart.map((x) => x.toFixed(2)).join(" / ")}`);

// ---------------------------------------------------------------- two bundles, the server
const fx = await makeServeFixture(SEED);
const alt = await publishAlternate(fx, SEED + 1, "b");
const bundles = [
  { modelDir: fx.modelDir, indexPath: fx.hnswPath, storeUrl: fx.storeUrl, version: fx.version },
  { modelDir: alt.modelDir, indexPath: alt.hnswPath, storeUrl: alt.storeUrl, version: alt.version },
];
// No --host and no --max-k: the defaults are part of what is checked.
const { child, url } = await startServer([
  "--model",
  fx.modelDir,
  "--index",
  fx.hnswPath,
  "--store",
  fx.storeUrl,
  "--port",
  "0",
  "--log-level",
  "warn",
]);
const base = new URL(url);
const pid = child.pid ?? 0;
let exited: string | undefined;
child.on("exit", (code, signal) => {
  exited = `exit code ${code}, signal ${signal}`;
});

/** The listen address: the default, and refused on every non-loopback address of this machine. */
async function listenCheck() {
  const others = Object.values(os.networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && !a.internal && a.family === "IPv4")
    .map((a) => a?.address ?? "");
  const refused = await Promise.all(
    others.map(
      (host) =>
        new Promise<boolean>((resolve) => {
          const s = net.connect(Number(base.port), host);
          s.on("connect", () => {
            s.destroy();
            resolve(false);
          });
          s.on("error", () => resolve(true));
        }),
    ),
  );
  return { host: base.hostname, otherAddresses: others, refusedOnAll: refused.every(Boolean) };
}
const listen = await listenCheck();

// ---------------------------------------------------------------- the run
const users = fx.ds.userVocab.names.slice(1);
const items = fx.ds.itemVocab.names.slice(1);
const cases = abuseCases(DEFAULT_MAX_K, users[0]);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const tally = new Map<string, CaseTally>();
const counts = {
  good: 0,
  goodOk: 0,
  fiveXx: 0,
  connectionErrors: 0,
  newSockets: 0,
  keepAliveHeaderMissing: 0,
};
const connectionErrors: string[] = [];
const goodFailures: string[] = [];
const latencyMs: number[] = [];
const versionChanges: { atS: number; version: string }[] = [];
const reloads: { atS: number; status?: number; to: string; ms: number; error?: string }[] = [];
const rss: { atS: number; kb: number }[] = [];
const t0 = performance.now();
const now = () => (performance.now() - t0) / 1000;
const keepAlive = `timeout=${SERVE_LIMITS.keepAliveTimeoutMs / 1000}`;

const count = (o: Outcome) => {
  if (o.socketError !== undefined) {
    counts.connectionErrors++;
    if (connectionErrors.length < 10) connectionErrors.push(o.socketError);
  }
  if ((o.status ?? 0) >= 500) counts.fiveXx++;
};

async function good(i: number) {
  const request = {
    userId: i % 10 === 0 ? `cold-${i}` : users[i % users.length],
    k: 10,
    ...(i % 2 === 0 ? { context: { subjectItemId: items[i % items.length] } } : {}),
  };
  const t = performance.now();
  const o = await postCandidates(base, agent, request);
  count(o);
  counts.good++;
  if (o.reused === false) counts.newSockets++;
  if (o.headers !== undefined && o.headers["keep-alive"] !== keepAlive) counts.keepAliveHeaderMissing++;
  if (o.status !== 200) {
    if (goodFailures.length < 10)
      goodFailures.push(`${o.status ?? o.socketError}: ${JSON.stringify(o.body).slice(0, 200)}`);
    return;
  }
  counts.goodOk++;
  latencyMs.push(performance.now() - t);
  const v = (o.body as { modelVersion: string }).modelVersion;
  if (versionChanges.at(-1)?.version !== v) versionChanges.push({ atS: r3(now()), version: v });
}

async function malformed(slot: number) {
  const c = cases[slot];
  const o = await sendCase(base, agent, c);
  count(o);
  tallyOutcome(tally, c.name, c.expect, o);
}

let swaps = 0;
async function swap() {
  const to = bundles[++swaps % 2];
  const t = performance.now();
  const body = JSON.stringify({ modelDir: to.modelDir, indexPath: to.indexPath, storeUrl: to.storeUrl });
  const o = await sendHttp(base, agent, {
    method: "POST",
    path: "/admin/reload",
    contentType: "application/json",
    body,
  });
  count(o);
  const ok = o.status === 200 && (o.body as { modelVersion?: string }).modelVersion === to.version;
  reloads.push({
    atS: r3(now()),
    status: o.status,
    to: to.version.slice(0, 12),
    ms: r3(performance.now() - t),
    ...(ok ? {} : { error: o.socketError ?? JSON.stringify(o.body).slice(0, 200) }),
  });
  log(`reload ${swaps} → ${to.version.slice(0, 12)}: ${o.status} in ${reloads.at(-1)?.ms} ms`);
}

const probes: Promise<unknown>[] = [];
const timers = [
  setInterval(() => {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
    rss.push({ atS: r3(now()), kb });
  }, 2_000),
];
// Swaps at the middle of each period, the slow sender a quarter before its end (done within it).
for (let at = SWAP_EVERY / 2; at < DURATION; at += SWAP_EVERY)
  timers.push(setTimeout(() => probes.push(swap()), at * 1000));
for (let at = SWAP_EVERY * 0.75; at + SERVE_LIMITS.requestTimeoutMs / 1000 + 2 < DURATION; at += SWAP_EVERY)
  timers.push(
    setTimeout(() => {
      for (const c of slowSenderCases)
        probes.push(
          sendRaw(base, c.raw ?? "").then((o) => {
            count(o);
            tallyOutcome(tally, c.name, c.expect, o);
          }),
        );
    }, at * 1000),
  );

const total = Math.round(RATE * DURATION);
log(
  `${total} requests at ${RATE} req/s over ${DURATION} s, ${SHARE * 100}% malformed; server pid ${pid} at ${url}`,
);
const elapsed = await paced(RATE, total, (i) => {
  const slot = malformedSlot(i, SHARE, cases.length);
  return slot === undefined ? good(i) : malformed(slot);
});
for (const t of timers) clearTimeout(t);
await Promise.all(probes);
agent.destroy();
const loadEnd = os.loadavg();
const alive = exited === undefined;
child.kill("SIGTERM");
fx.cleanup();

// ---------------------------------------------------------------- verdicts and results
const meanKb = (xs: { kb: number }[]) => xs.reduce((s, x) => s + x.kb, 0) / Math.max(1, xs.length);
const afterWarmup = rss.filter((s) => s.atS >= WARMUP && s.atS < WARMUP + 10);
const lastWindow = rss.filter((s) => s.atS >= rss[rss.length - 1].atS - 10);
const rssGrowth = meanKb(lastWindow) / meanKb(afterWarmup) - 1;
const perCase = [...tally].map(([name, t]) => ({ name, ...t }));
const badSent = perCase.reduce((s, c) => s + c.sent, 0);
const limitsExercised = [
  ...new Set(
    [...cases, ...slowSenderCases].flatMap((c) =>
      c.limit !== undefined && (tally.get(c.name)?.sent ?? 0) > 0 ? [c.limit] : [],
    ),
  ),
  ...(counts.keepAliveHeaderMissing === 0 && counts.good > 0
    ? ["keep-alive idle timeout (header on every answer)"]
    : []),
  ...(reloads.length > 0 && reloads.every((r) => r.status === 200)
    ? ["/admin/reload from loopback (accepted)"]
    : []),
  ...(listen.host === "127.0.0.1" && listen.refusedOnAll ? ["listen address 127.0.0.1 (default)"] : []),
];
const verdicts = {
  no5xx: counts.fiveXx === 0,
  noConnectionErrors: counts.connectionErrors === 0,
  rssGrowthUnder5Percent: rssGrowth < 0.05,
  everyBadRequestItsDocumented4xx:
    perCase.every((c) => c.kept === c.sent) && tally.size === cases.length + slowSenderCases.length,
  everyGoodRequest200: counts.goodOk === counts.good,
  swapsObserved:
    reloads.length > 0 &&
    reloads.every((r) => r.error === undefined) &&
    versionChanges.length === reloads.length + 1,
  serverAlive: alive,
};
const commit = execSync("git rev-parse --short HEAD", { cwd: repoRoot }).toString().trim();
const dirty =
  execSync("git status --porcelain --untracked-files=no", { cwd: repoRoot }).toString().trim() !== "";
const result = {
  date: new Date().toISOString(),
  commit: dirty ? `${commit} (uncommitted changes)` : commit,
  machine: {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model,
    loadavgStart: loadStart,
    loadavgEnd: loadEnd,
  },
  args: {
    durationS: DURATION,
    rate: RATE,
    share: SHARE,
    swapEveryS: SWAP_EVERY,
    warmupS: WARMUP,
    seed: SEED,
  },
  elapsedS: r3(elapsed),
  requests: { total, good: counts.good, malformed: badSent, achievedRate: Math.round(total / elapsed) },
  verdicts,
  counts,
  connectionErrors,
  goodFailures,
  latencyMs: {
    p50: r3(quantile(latencyMs, 0.5)),
    p99: r3(quantile(latencyMs, 0.99)),
    max: r3(quantile(latencyMs, 1)),
  },
  rss: {
    afterWarmupKb: Math.round(meanKb(afterWarmup)),
    endKb: Math.round(meanKb(lastWindow)),
    growth: r3(rssGrowth),
    samples: rss,
  },
  reloads,
  versionChanges,
  listen,
  limitsExercised,
  perCase,
};
const resultsDir = path.join(repoRoot, "bench/results");
writeFileSync(path.join(resultsDir, "soak.json"), `${JSON.stringify(result, null, 2)}\n`);
const yes = (b: boolean) => (b ? "PASS" : "FAIL");
const mb = (kb: number) => (kb / 1024).toFixed(1);
const md = [
  `# bench:soak (${result.date}, commit ${result.commit})`,
  "",
  `${result.machine.cpus} CPUs (${result.machine.model}), load average at start ${loadStart.map((x) => x.toFixed(2)).join(" / ")}, at end ${loadEnd.map((x) => x.toFixed(2)).join(" / ")}. ${DURATION} s at ${RATE} req/s (achieved ${result.requests.achievedRate}), ${SHARE * 100}% malformed, a reload every ${SWAP_EVERY} s, warm-up ${WARMUP} s; \`ctxrec serve\` in a child process (tiny world, d = 16, HNSW over 200 items, SQLite store), loopback.`,
  "",
  "| verdict | result |",
  "| ------- | ------ |",
  ...Object.entries(verdicts).map(([k, v]) => `| ${k} | ${yes(v)} |`),
  "",
  "| figure | value |",
  "| ------ | ----: |",
  `| requests (good / malformed) | ${total} (${counts.good} / ${badSent}) |`,
  `| 5xx | ${counts.fiveXx} |`,
  `| connection errors | ${counts.connectionErrors} |`,
  `| new keep-alive sockets for good requests | ${counts.newSockets} |`,
  `| good requests p50 / p99 / max ms | ${result.latencyMs.p50} / ${result.latencyMs.p99} / ${result.latencyMs.max} |`,
  `| server RSS after warm-up → end (MiB) | ${mb(result.rss.afterWarmupKb)} → ${mb(result.rss.endKb)} (${(rssGrowth * 100).toFixed(2)}%) |`,
  `| reloads (all 200) | ${reloads.length} (${reloads.every((r) => r.status === 200)}) |`,
  `| modelVersion changes seen in answers | ${versionChanges.length - 1} |`,
  "",
  "| malformed case | sent | answered as documented | first violation |",
  "| -------------- | ---: | ---------------------: | --------------- |",
  ...perCase.map((c) => `| ${c.name} | ${c.sent} | ${c.kept} | ${c.violations[0] ?? ""} |`),
  "",
  `Limits exercised: ${limitsExercised.join("; ")}.`,
  "",
];
writeFileSync(path.join(resultsDir, "soak.md"), md.join("\n"));
process.stdout.write(md.join("\n"));
log("wrote bench/results/soak.json and soak.md");
process.exit(Object.values(verdicts).every(Boolean) ? 0 : 1);
