/**
 * Soak helper (not exported from the package): the malformed requests `bench:soak` and
 * `soak.test.ts` mix into their load, each with the answer docs/serving.md ("Errors", "Limits")
 * promises, a sender over real sockets (loopback) and the check of an answer against its promise.
 * Every error answer must be `{error: {code, message, field?}}` with the documented status, code
 * and field; a connection error (reset, refused) before a complete answer is a violation.
 */
import http from "node:http";
import net from "node:net";
import { MAX_ID_LENGTH } from "./api.ts";
import { SERVE_LIMITS } from "./limits.ts";

/** What a case must be answered with. */
export interface Expected {
  status: number;
  /** Error code; absent for a 200. */
  code?: string;
  /** The error's `field`; absent when the error names none. */
  field?: string;
}

/** One malformed (or unusual) request. */
export interface AbuseCase {
  name: string;
  /** The docs' Limits row it exercises, if any. */
  limit?: string;
  /** `http`: a normal request on the keep-alive agent; `raw`: bytes written on a fresh socket. */
  via: "http" | "raw";
  method?: string;
  path?: string;
  contentType?: string;
  body?: string;
  /** Raw bytes (via `raw`). */
  raw?: string;
  expect: Expected;
}

/** What came back: a status and parsed body, or the connection error instead. */
export interface Outcome {
  status?: number;
  body?: unknown;
  socketError?: string;
}

const json = "application/json";

/** The cases, for a server whose largest k is `maxK`, with `userId` a known user. */
export function abuseCases(maxK: number, userId: string): AbuseCase[] {
  const post = (name: string, body: string, expect: Expected, limit?: string): AbuseCase => ({
    name,
    via: "http",
    method: "POST",
    path: "/v1/candidates",
    contentType: json,
    body,
    expect,
    ...(limit !== undefined ? { limit } : {}),
  });
  const bad = (field?: string): Expected => ({
    status: 400,
    code: "CTXREC_ERR_REQUEST",
    ...(field !== undefined ? { field } : {}),
  });
  const unknownId = (field: string): Expected => ({ status: 404, code: "CTXREC_ERR_DATA_UNKNOWN_ID", field });
  const u = JSON.stringify(userId);
  return [
    post("bad JSON", `{"userId":${u},"k":`, bad("body")),
    post("wrong type: k string", `{"userId":${u},"k":"10"}`, bad("body.k")),
    post(
      "wrong type: age string",
      `{"userId":${u},"k":5,"demographics":{"age":"30"}}`,
      bad("body.demographics.age"),
    ),
    post("unknown field", `{"userId":${u},"k":5,"kk":1}`, bad("body")),
    post(
      "unknown subject item",
      `{"userId":${u},"k":5,"context":{"subjectItemId":"no-such-item"}}`,
      unknownId("body.context.subjectItemId"),
    ),
    post(
      "unknown category",
      `{"userId":${u},"k":5,"context":{"categories":[{"id":"no-such-cat","confidence":1}]}}`,
      unknownId("body.context.categories[0].id"),
    ),
    // An unknown user is not an error: the cold-start path answers it.
    post("unknown user (cold start)", `{"userId":"no-such-user","k":5}`, { status: 200 }),
    post("k above --max-k", `{"userId":${u},"k":${maxK + 1}}`, bad("body.k"), "k upper bound"),
    post("huge k (2^60)", `{"userId":${u},"k":1152921504606846976}`, bad("body.k"), "k upper bound"),
    post(
      "id too long",
      `{"userId":"${"u".repeat(MAX_ID_LENGTH + 1)}","k":5}`,
      bad("body.userId"),
      "id length",
    ),
    post(
      "body over 64 KiB",
      `{"userId":"${"x".repeat(SERVE_LIMITS.bodyLimitBytes)}","k":5}`,
      { status: 413, code: "CTXREC_ERR_REQUEST", field: "body" },
      "body size",
    ),
    {
      name: "Content-Type not JSON",
      via: "http",
      method: "POST",
      path: "/v1/candidates",
      contentType: "text/plain",
      body: "hello",
      expect: { status: 415, code: "CTXREC_ERR_REQUEST", field: "body" },
    },
    {
      name: "unknown route",
      via: "http",
      method: "GET",
      path: "/v1/nope",
      expect: { status: 404, code: "CTXREC_ERR_REQUEST" },
    },
    {
      name: "headers over 16 KiB",
      limit: "header size",
      via: "raw",
      raw: `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(SERVE_LIMITS.maxHeaderBytes + 1024)}\r\n\r\n`,
      expect: { status: 431, code: "CTXREC_ERR_REQUEST", field: "headers" },
    },
    { name: "malformed HTTP", via: "raw", raw: "NOT HTTP AT ALL\r\n\r\n", expect: bad() },
  ];
}

/**
 * Senders that never finish (tens of seconds apart in a soak: each holds a socket until answered):
 * headers that never end hit the request/headers timeout (Node's 408, no field); a body that never
 * ends hits the handler timeout, which runs from routing (408 naming body: the client is slow, not
 * the server). Both close the connection.
 */
export const slowSenderCases: AbuseCase[] = [
  {
    name: "headers never complete (request timeout)",
    limit: "request timeout",
    via: "raw",
    raw: "POST /v1/candidates HTTP/1.1\r\nHost: x\r\n",
    expect: { status: 408, code: "CTXREC_ERR_REQUEST" },
  },
  {
    name: "body never completes (handler timeout)",
    limit: "handler timeout",
    via: "raw",
    raw: `POST /v1/candidates HTTP/1.1\r\nHost: x\r\nContent-Type: ${json}\r\nContent-Length: 100\r\n\r\n{`,
    expect: { status: 408, code: "CTXREC_ERR_REQUEST", field: "body" },
  },
];

/** Sends an HTTP request on `agent` to `base` (`http://host:port`); never rejects. */
export function sendHttp(
  base: URL,
  agent: http.Agent,
  c: { method?: string; path?: string; contentType?: string; body?: string },
): Promise<Outcome & { headers?: http.IncomingHttpHeaders; reused?: boolean }> {
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = {};
    if (c.contentType !== undefined) headers["content-type"] = c.contentType;
    if (c.body !== undefined) headers["content-length"] = Buffer.byteLength(c.body);
    const req = http.request(
      { host: base.hostname, port: base.port, path: c.path, method: c.method, agent, headers },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => {
          text += d;
        });
        res.on("end", () =>
          resolve({
            status: res.statusCode,
            body: parseJson(text),
            headers: res.headers,
            reused: req.reusedSocket,
          }),
        );
        res.on("error", (e) => resolve({ socketError: e.message }));
      },
    );
    req.on("error", (e: NodeJS.ErrnoException) => resolve({ socketError: e.code ?? e.message }));
    req.end(c.body);
  });
}

/** A well-formed `POST /v1/candidates` of `request` (JSON-encoded here). */
export function postCandidates(
  base: URL,
  agent: http.Agent,
  request: Record<string, unknown>,
): ReturnType<typeof sendHttp> {
  return sendHttp(base, agent, {
    method: "POST",
    path: "/v1/candidates",
    contentType: "application/json",
    body: JSON.stringify(request),
  });
}

/** Writes `data` on a fresh socket and reads the one response until the server closes; never rejects. */
export function sendRaw(base: URL, data: string, waitMs = 30_000): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = net.connect(Number(base.port), base.hostname, () => s.write(data));
    let out = "";
    s.setEncoding("utf8");
    s.on("data", (d) => {
      out += d;
    });
    const done = (socketError?: string) => {
      const [head, body] = out.split("\r\n\r\n");
      const status = Number(head?.split(" ")[1]);
      // A reset after the whole answer arrived (the server closes these connections) is no loss.
      if (Number.isFinite(status) && status > 0 && body !== undefined)
        resolve({ status, body: parseJson(body) });
      else
        resolve({
          socketError: socketError ?? `closed without an answer (${JSON.stringify(out.slice(0, 80))})`,
        });
    };
    s.on("close", () => done());
    s.on("error", (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
    s.setTimeout(waitMs, () => s.destroy(new Error(`no close within ${waitMs} ms`)));
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Sends case `c` to `base`. */
export function sendCase(base: URL, agent: http.Agent, c: AbuseCase): Promise<Outcome> {
  return c.via === "raw" ? sendRaw(base, c.raw ?? "") : sendHttp(base, agent, c);
}

/** Why `o` breaks `expect`, or undefined when it keeps it. */
export function violation(expect: Expected, o: Outcome): string | undefined {
  if (o.socketError !== undefined) return `connection error ${o.socketError}`;
  if (o.status !== expect.status)
    return `status ${o.status}, expected ${expect.status}: ${JSON.stringify(o.body).slice(0, 200)}`;
  if (expect.status < 400) return undefined;
  const e = (o.body as { error?: Record<string, unknown> } | undefined)?.error;
  if (e === undefined || typeof e.code !== "string" || typeof e.message !== "string")
    return `not the error shape: ${JSON.stringify(o.body).slice(0, 200)}`;
  const keys = Object.keys(e).filter((k) => !["code", "message", "field"].includes(k));
  if (keys.length > 0) return `extra keys ${keys.join(", ")} in the error`;
  if (e.code !== expect.code) return `code ${e.code}, expected ${expect.code}`;
  if (e.field !== expect.field) return `field ${String(e.field)}, expected ${String(expect.field)}`;
  return undefined;
}

/** Per-case counts of a run. */
export interface CaseTally {
  sent: number;
  kept: number;
  /** The first few violations. */
  violations: string[];
}

/** Counts `o` for case `name` into `tally`; returns the violation, if any. */
export function tallyOutcome(
  tally: Map<string, CaseTally>,
  name: string,
  expect: Expected,
  o: Outcome,
): string | undefined {
  const t = tally.get(name) ?? { sent: 0, kept: 0, violations: [] };
  tally.set(name, t);
  t.sent++;
  const v = violation(expect, o);
  if (v === undefined) t.kept++;
  else if (t.violations.length < 5) t.violations.push(v);
  return v;
}

/**
 * Whether request `i` of a run is malformed when a share `share` of them is: spread evenly (one
 * every 1/share requests), and which case it is (cycling through `n` cases).
 */
export function malformedSlot(i: number, share: number, n: number): number | undefined {
  const before = Math.floor(i * share);
  return Math.floor((i + 1) * share) > before ? before % n : undefined;
}
