/**
 * The limits of docs/serving.md ("Limits"), each exercised on a listening server (loopback only):
 * body size, k bound, request timeout, header size, keep-alive, loopback-only reload, default
 * host; what Node rejects before a request exists answers the error shape too. The table in the
 * docs is checked against `limits.ts`, so neither can change alone.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { Command } from "commander";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerServeCommand } from "../cli/commands/serve.ts";
import { DEFAULT_MAX_K, MAX_ID_LENGTH, MAX_REQUEST_CATEGORIES } from "./api.ts";
import { DEFAULT_HOST, LOOPBACK_ADDRESSES, MAX_K_CEILING, SERVE_LIMITS } from "./limits.ts";
import { buildServer } from "./server.ts";
import type { BundleHandle } from "./swap.ts";
import { fixtureBundles, makeServeFixture, type ServeFixture } from "./testBundle.ts";

let fx: ServeFixture;
let bundles: BundleHandle;
let app: FastifyInstance;
let port: number;
/** The request timeout of the test server, shortened from SERVE_LIMITS' so the test is quick. */
const REQUEST_TIMEOUT_MS = 300;

beforeAll(async () => {
  fx = await makeServeFixture(6);
  bundles = await fixtureBundles(fx);
  app = buildServer(bundles, { maxK: 20, requestTimeoutMs: REQUEST_TIMEOUT_MS });
  port = Number(new URL(await app.listen({ port: 0, host: DEFAULT_HOST })).port);
});

afterAll(async () => {
  await app?.close();
  await bundles?.closeAll();
  fx?.cleanup();
});

/** Writes `data` on a fresh connection (to `to`, default the test server) and returns all the server sends until it closes. */
function raw(data: string, waitMs = 5_000, to = port): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(to, DEFAULT_HOST, () => s.write(data));
    let out = "";
    s.setEncoding("utf8");
    s.on("data", (d) => {
      out += d;
    });
    s.on("close", () => resolve(out));
    s.on("error", reject);
    s.setTimeout(waitMs, () =>
      s.destroy(new Error(`no close within ${waitMs} ms; got ${JSON.stringify(out)}`)),
    );
  });
}

/** Status line and parsed JSON body of a raw response. */
function parse(response: string): {
  status: number;
  body: { error: { code: string; message: string; field?: string } };
} {
  const [head, body] = response.split("\r\n\r\n");
  return { status: Number(head.split(" ")[1]), body: JSON.parse(body) };
}

const candidates = (body: string) =>
  app.inject({
    method: "POST",
    url: "/v1/candidates",
    headers: { "content-type": "application/json" },
    payload: body,
  });

describe("limits, exercised", () => {
  it(`body size: ${SERVE_LIMITS.bodyLimitBytes} bytes pass the limit, one more is 413`, async () => {
    // {"userId":"xxx…","k":1} padded to exactly the limit: not too large (rejected later for the id length).
    const fixed = '{"userId":"","k":1}'.length;
    const at = await candidates(`{"userId":"${"x".repeat(SERVE_LIMITS.bodyLimitBytes - fixed)}","k":1}`);
    expect(at.statusCode).toBe(400);
    expect(at.json().error.field).toBe("body.userId");
    const over = await candidates(
      `{"userId":"${"x".repeat(SERVE_LIMITS.bodyLimitBytes - fixed + 1)}","k":1}`,
    );
    expect(over.statusCode).toBe(413);
    expect(over.json().error).toMatchObject({ code: "CTXREC_ERR_REQUEST", field: "body" });
    expect(over.json().error.message).toMatch(/send at most 64 KiB/);
  });

  it("the largest valid request fits well within the body limit", () => {
    const cat = { id: "c".repeat(MAX_ID_LENGTH), confidence: 0.015625 };
    const biggest = {
      userId: "u".repeat(MAX_ID_LENGTH),
      context: { categories: Array.from({ length: MAX_REQUEST_CATEGORIES }, () => cat) },
      demographics: {
        age: 150,
        country: "c".repeat(MAX_ID_LENGTH),
        gender: "g".repeat(MAX_ID_LENGTH),
        occupation: "o".repeat(MAX_ID_LENGTH),
      },
      k: MAX_K_CEILING,
      filter: { country: "c".repeat(MAX_ID_LENGTH) },
    };
    expect(JSON.stringify(biggest).length).toBeLessThan(0.6 * SERVE_LIMITS.bodyLimitBytes);
  });

  it("k bound: k = --max-k answers, one more is 400 naming body.k", async () => {
    expect((await candidates(`{"userId":"u","k":20}`)).statusCode).toBe(200);
    const r = await candidates(`{"userId":"u","k":21}`);
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toMatchObject({ code: "CTXREC_ERR_REQUEST", field: "body.k" });
  });

  it("request timeout: a request not received in time → 408 in the error shape, connection closed", async () => {
    const t0 = Date.now();
    const r = parse(
      await raw(
        "POST /v1/candidates HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
      ),
    );
    // Fires between the timeout and the timeout + Node's check interval.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS);
    expect(Date.now() - t0).toBeLessThan(REQUEST_TIMEOUT_MS + SERVE_LIMITS.timeoutCheckIntervalMs + 2_000);
    expect(r.status).toBe(408);
    expect(r.body.error.code).toBe("CTXREC_ERR_REQUEST");
    expect(r.body.error.message).toMatch(new RegExp(`not received within ${REQUEST_TIMEOUT_MS} ms`));
  });

  it("a body still arriving when the handler timeout fires → 408 naming body (a slow client, not a 503)", async () => {
    // The handler timeout (200 ms here) starts at routing, before the body is read; the request
    // timeout (5 s) would fire later. Found by bench:soak, where they are 5 s and 10 s.
    const slow = buildServer(bundles, { maxK: 20, handlerTimeoutMs: 200, requestTimeoutMs: 5_000 });
    const slowPort = Number(new URL(await slow.listen({ port: 0, host: DEFAULT_HOST })).port);
    try {
      const r = parse(
        await raw(
          "POST /v1/candidates HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
          5_000,
          slowPort,
        ),
      );
      expect(r.status).toBe(408);
      expect(r.body.error).toMatchObject({ code: "CTXREC_ERR_REQUEST", field: "body" });
      expect(r.body.error.message).toMatch(/not received within 200 ms/);
    } finally {
      await slow.close();
    }
  });

  it(`header size: over ${SERVE_LIMITS.maxHeaderBytes} bytes → 431 naming headers`, async () => {
    const r = parse(
      await raw(
        `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(SERVE_LIMITS.maxHeaderBytes)}\r\n\r\n`,
      ),
    );
    expect(r.status).toBe(431);
    expect(r.body.error).toMatchObject({ code: "CTXREC_ERR_REQUEST", field: "headers" });
  });

  it("malformed HTTP → 400 in the error shape", async () => {
    const r = parse(await raw("NOT HTTP AT ALL\r\n\r\n"));
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("CTXREC_ERR_REQUEST");
    expect(r.body.error.message).toMatch(/malformed HTTP request/);
  });

  it("keep-alive: the server's timeouts are the documented ones and it says so to clients", async () => {
    expect(app.server.keepAliveTimeout).toBe(SERVE_LIMITS.keepAliveTimeoutMs);
    expect(app.server.maxRequestsPerSocket ?? 0).toBe(SERVE_LIMITS.maxRequestsPerSocket);
    expect(app.server.requestTimeout).toBe(REQUEST_TIMEOUT_MS);
    expect(app.server.headersTimeout).toBeLessThanOrEqual(REQUEST_TIMEOUT_MS);
    const agent = new http.Agent({ keepAlive: true });
    const headers = await new Promise<http.IncomingHttpHeaders>((resolve, reject) => {
      http
        .get({ host: DEFAULT_HOST, port, path: "/healthz", agent }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.headers));
        })
        .on("error", reject);
    });
    agent.destroy();
    expect(headers["keep-alive"]).toBe(`timeout=${SERVE_LIMITS.keepAliveTimeoutMs / 1000}`);
  });

  it("/admin/reload only from loopback: 403 from elsewhere, nothing reloaded", async () => {
    expect([...LOOPBACK_ADDRESSES]).toEqual(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);
    const r = await app.inject({ method: "POST", url: "/admin/reload", remoteAddress: "192.168.1.7" });
    expect(r.statusCode).toBe(403);
    expect(r.json().error.code).toBe("CTXREC_ERR_REQUEST");
    expect(bundles.generation).toBe(0);
  });

  it(`ctxrec serve listens on ${DEFAULT_HOST} and allows k up to ${DEFAULT_MAX_K} unless told otherwise`, () => {
    const program = new Command();
    registerServeCommand(program);
    const serve = program.commands.find((c) => c.name() === "serve");
    const option = (flag: string) => serve?.options.find((o) => o.long === flag)?.defaultValue;
    expect(option("--host")).toBe("127.0.0.1");
    expect(option("--max-k")).toBe(String(DEFAULT_MAX_K));
  });
});

describe("docs/serving.md, Limits", () => {
  const doc = readFileSync(new URL("../../docs/serving.md", import.meta.url), "utf8");
  const section = doc.slice(doc.indexOf("## Limits"), doc.indexOf("\n## ", doc.indexOf("## Limits") + 1));
  it("has a row with each limit's value", () => {
    const rows = section.split("\n").filter((l) => l.startsWith("| "));
    const cell = (name: string) =>
      rows
        .find((r) => r.includes(`\`${name}\``))
        ?.split("|")[2]
        ?.trim();
    for (const [name, value] of Object.entries(SERVE_LIMITS)) {
      const shown = cell(name);
      expect(shown, `no row for ${name}`).toBeDefined();
      // The value as the table writes it: plain digits with thousands separators, e.g. 72,000.
      expect(shown?.replaceAll(",", "").replace(/\s.*$/, ""), name).toBe(String(value));
    }
    for (const [name, value] of [
      ["DEFAULT_MAX_K", DEFAULT_MAX_K],
      ["MAX_K_CEILING", MAX_K_CEILING],
      ["MAX_REQUEST_CATEGORIES", MAX_REQUEST_CATEGORIES],
      ["MAX_ID_LENGTH", MAX_ID_LENGTH],
      ["DEFAULT_HOST", DEFAULT_HOST],
    ] as const)
      expect(cell(name)?.replaceAll(",", "").replace(/\s.*$/, ""), name).toBe(String(value));
  });
});
