/**
 * The candidate service (DESIGN §5) as a Fastify app, built from a `BundleHandle` so tests drive it
 * with `app.inject()` and the CLI only adds `listen` and signals:
 *
 *   POST /v1/candidates   {userId, context?, demographics?, k, filter?} → candidates (request.ts)
 *   GET  /healthz         model version, index size, store version, uptime
 *   GET  /metrics         Prometheus text (metrics.ts)
 *   POST /admin/reload    hot swap (loopback callers only; optional {modelDir, indexPath, storeUrl})
 *
 * Every error leaves as `{error: {code, message, field?}}` with the status of its ctxrec error
 * code (src/core/errors.ts); Fastify's own errors (malformed JSON, wrong content type, body too
 * large) keep their 4xx status and say what to fix. Nothing a client sends can crash the process.
 */
import { performance } from "node:perf_hooks";
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from "fastify";
import { CtxrecError } from "../core/errors.ts";
import { describeStoreUrl, parseStoreUrl } from "../store/url.ts";
import { answerCandidates } from "./candidates.ts";
import { createServeMetrics, type ServeMetrics } from "./metrics.ts";
import { candidatesRequestSchema, DEFAULT_MAX_K, parseCandidatesRequest, resolveRequest } from "./request.ts";
import type { BundleHandle } from "./swap.ts";

export interface ServerOptions {
  /** Largest k a request may ask for (default 1000). */
  maxK?: number;
  /** Fastify/pino logger setting (default false: tests stay quiet; the CLI turns it on). */
  logger?: FastifyServerOptions["logger"];
}

/** The JSON error body. */
export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

// fast-json-stringify schema of a 200 answer: serialising from a schema is several times faster
// than JSON.stringify for this shape, and it is on every request's path.
const CANDIDATES_RESPONSE = {
  type: "object",
  properties: {
    candidates: {
      type: "array",
      items: {
        type: "object",
        properties: { itemId: { type: "string" }, score: { type: "number" } },
        required: ["itemId", "score"],
      },
    },
    modelVersion: { type: "string" },
    stateAgeSeconds: { type: ["number", "null"] },
    coldStart: { type: "boolean" },
    timings: {
      type: "object",
      properties: { storeMs: { type: "number" }, towerMs: { type: "number" }, annMs: { type: "number" } },
    },
    warnings: { type: "array", items: { type: "string" } },
  },
} as const;

const LOOPBACK = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);

/** Status and body for any error reaching the edge. */
export function errorReply(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof CtxrecError) {
    const field = err.location.field ?? err.location.param;
    return {
      status: err.status,
      body: { error: { code: err.code, message: err.message, ...(field !== undefined ? { field } : {}) } },
    };
  }
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    // Fastify's own client errors (FST_ERR_CTP_INVALID_JSON_BODY, _INVALID_MEDIA_TYPE, _BODY_TOO_LARGE…).
    const fix =
      e.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE"
        ? "send Content-Type: application/json"
        : "send one JSON object as described in docs/serving.md";
    return {
      status: e.statusCode,
      body: {
        error: {
          code: "CTXREC_ERR_REQUEST",
          message: `body: ${e.message ?? "malformed request"} (${e.code ?? "bad request"}); ${fix}`,
          field: "body",
        },
      },
    };
  }
  return {
    status: 500,
    body: { error: { code: "INTERNAL", message: `internal error: ${e?.message ?? String(err)}` } },
  };
}

/** Builds the app over `bundles` (not listening). Use `app.inject()` in tests, `app.listen()` to serve. */
export function buildServer(bundles: BundleHandle, opts: ServerOptions = {}): FastifyInstance {
  const maxK = opts.maxK ?? DEFAULT_MAX_K;
  const schema = candidatesRequestSchema(maxK);
  const startedAt = Date.now();
  const metrics: ServeMetrics = createServeMetrics(bundles.current.store.counters);
  metrics.setModel(bundles.current.modelVersion);
  const app = Fastify({
    logger: opts.logger ?? false,
    // No per-request log lines: at 1,000 req/s they would cost more than the request itself.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
  });

  // Only JSON bodies: without this, text/plain is parsed into a string and reported as a wrong type.
  app.removeContentTypeParser("text/plain");
  app.setErrorHandler((err, req, reply) => {
    const { status, body } = errorReply(err);
    metrics.error(body.error.code, status);
    if (status >= 500) req.log.error({ err }, "request failed");
    reply.status(status).send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send({
      error: {
        code: "CTXREC_ERR_REQUEST",
        message: `no route ${req.method} ${req.url}; routes: POST /v1/candidates, GET /healthz, GET /metrics, POST /admin/reload`,
      },
    } satisfies ErrorBody);
  });

  app.post("/v1/candidates", { schema: { response: { 200: CANDIDATES_RESPONSE } } }, async (req) => {
    const t0 = performance.now();
    const parsed = parseCandidatesRequest(schema, req.body);
    const res = await bundles.use(async (b) =>
      answerCandidates(b, resolveRequest(parsed, b.tables, b.model.contextK)),
    );
    metrics.observe(res.timings, performance.now() - t0);
    metrics.ok();
    if (res.coldStart) metrics.coldStart();
    if (res.warnings !== undefined) {
      for (const w of res.warnings) metrics.unknownValue(w.slice(0, w.indexOf(":")));
    }
    return res;
  });

  app.get("/healthz", async (_req, reply) => {
    const b = bundles.current;
    const base = {
      modelVersion: b.modelVersion,
      generation: bundles.generation,
      index: { kind: b.index.manifest.kind, size: b.index.size, dim: b.index.dim },
      store: {
        url: describeStoreUrl(parseStoreUrl(b.source.storeUrl)),
        version: b.store.versionOf(),
      } as Record<string, unknown>,
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      bundleAgeSeconds: Math.round((Date.now() - b.loadedAt) / 1000),
    };
    try {
      // Touches the store, so an unreachable Redis shows up here rather than on the first request.
      base.store.activeVersion = (await b.store.activeVersion()) ?? null;
      return { status: "ok", ...base };
    } catch (err) {
      reply.status(503);
      return { status: "store unavailable", error: errorReply(err).body.error, ...base };
    }
  });

  app.get("/metrics", async (_req, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.post("/admin/reload", async (req, reply) => {
    if (!LOOPBACK.has(req.socket.remoteAddress ?? "")) {
      reply.status(403);
      return {
        error: {
          code: "CTXREC_ERR_REQUEST",
          message: `reload is only accepted from loopback, not ${req.socket.remoteAddress}; send SIGHUP or call it on the host`,
        },
      } satisfies ErrorBody;
    }
    const body = (req.body ?? {}) as Record<string, unknown>;
    const src: Record<string, string> = {};
    for (const key of ["modelDir", "indexPath", "storeUrl"]) {
      const v = body[key];
      if (v === undefined) continue;
      if (typeof v !== "string" || v.length === 0) {
        throw new CtxrecError(
          "CTXREC_ERR_REQUEST",
          `expected a non-empty path string, received ${JSON.stringify(v)}`,
          {
            field: `body.${key}`,
          },
        );
      }
      src[key] = v;
    }
    try {
      const r = await bundles.reload(src, req.log);
      metrics.reload("ok");
      metrics.setModel(r.modelVersion);
      return { status: "swapped", ...r };
    } catch (err) {
      metrics.reload("refused");
      req.log.error({ err }, "reload refused; the previous bundle keeps serving");
      throw err;
    }
  });

  // SIGHUP reloads (from the CLI) report here too, so the metrics see every swap.
  app.decorate("reloadBundles", async (): Promise<void> => {
    try {
      const r = await bundles.reload({}, app.log);
      metrics.reload("ok");
      metrics.setModel(r.modelVersion);
    } catch (err) {
      metrics.reload("refused");
      app.log.error({ err }, "reload refused; the previous bundle keeps serving");
    }
  });
  return app;
}

/** The reload the CLI calls on SIGHUP (logs and counts; never throws). */
export function reloadOnSignal(app: FastifyInstance): Promise<void> {
  return (app as FastifyInstance & { reloadBundles: () => Promise<void> }).reloadBundles();
}
