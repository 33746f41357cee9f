/**
 * The HTTP load parts `bench:serve`, `bench:soak` and `bench:scale` share: `ctxrec serve` in a child
 * process, a closed-loop autocannon run of POST /v1/candidates, and an OPEN-LOOP paced generator
 * (request i is due at start + i/rate however slow earlier answers are; see bench/serve.ts for why
 * not autocannon's `overallRate`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import autocannonModule from "autocannon";

const repoRoot = path.resolve(import.meta.dirname, "..");

/** Starts `ctxrec serve ARGS` (sources through tsx); resolves with the child and its URL. */
export function startServer(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const argv = ["--import", "tsx", path.join(repoRoot, "src/cli/main.ts"), "serve", ...args];
  const child = spawn(process.execPath, argv, { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (b: Buffer) => {
      out += b.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.on("exit", (code) => reject(new Error(`ctxrec serve exited with ${code} before listening`)));
  });
}

/**
 * Calls `fire(i, due)` for i = 0 … total − 1, request i at `start + i·1000/rate` ms (performance
 * clock), without waiting for earlier ones; resolves with the elapsed seconds once all settled.
 */
export function paced(
  rate: number,
  total: number,
  fire: (i: number, due: number) => Promise<void>,
): Promise<number> {
  const start = performance.now();
  let done = 0;
  let sent = 0;
  return new Promise((resolve) => {
    const finish = () => {
      if (++done === total) resolve((performance.now() - start) / 1000);
    };
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
      for (; sent < due; sent++) void fire(sent, start + (sent * 1000) / rate).finally(finish);
      if (sent < total) setTimeout(tick, Math.max(0, start + (sent * 1000) / rate - performance.now()));
    };
    if (total === 0) resolve(0);
    else tick();
  });
}

// autocannon ships no types; this is the part of its API the bench uses.
type Autocannon = (o: Record<string, unknown>) => Promise<AutocannonResult> & {
  on(e: "response", f: (c: unknown, status: number, bytes: number, ms: number) => void): void;
};
interface AutocannonResult {
  latency: { p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}
const autocannon = autocannonModule as unknown as Autocannon;

/**
 * autocannon against POST URL/v1/candidates for `seconds` with `connections` connections (closed
 * loop; at `rate` req/s when given), cycling through `bodies`; latencies (ms) of the 200 answers.
 */
export async function closedLoop(
  url: string,
  bodies: string[],
  rate: number | undefined,
  connections: number,
  seconds: number,
) {
  let i = 0;
  const ms: number[] = [];
  let ok = 0;
  const run = autocannon({
    url: `${url}/v1/candidates`,
    method: "POST",
    headers: { "content-type": "application/json" },
    connections,
    duration: seconds,
    ...(rate !== undefined ? { overallRate: rate } : {}),
    requests: [
      {
        setupRequest: (req: Record<string, unknown>) => {
          req.body = bodies[i++ % bodies.length];
          return req;
        },
      },
    ],
  });
  run.on("response", (_c, status, _b, t) => {
    if (status === 200) {
      ok++;
      ms.push(t);
    }
  });
  const res = await run;
  return { res, ms, ok };
}
