/**
 * The candidate service (DESIGN §5) as a Fastify app, built from a `BundleHandle` so tests drive it
 * with `app.inject()` and the CLI only adds `listen` and signals. The routes and their schemas are
 * in `routes.ts` / `api.ts` (and described at `GET /openapi.json`); this module wires them to the
 * bundle, the metrics and the limits of `limits.ts`.
 *
 * Every error leaves as `{error: {code, message, field?}}` with a code of the error registry
 * (src/core/errors.ts, mapping in httpErrors.ts): route errors through the error handler, unknown
 * routes through the not-found handler, bad URLs through `frameworkErrors`, and what Node rejects
 * before a request exists (malformed HTTP, headers too large, request timeout) through the
 * `clientErrorHandler`. Nothing a client sends can crash the process.
 */
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyServerOptions,
  LogController,
} from "fastify";
import { describeStoreUrl, parseStoreUrl } from "../store/url.ts";
import { DEFAULT_MAX_K, type Health } from "./api.ts";
import type { BundleSource } from "./bundle.ts";
import { answerCandidates } from "./candidates.ts";
import {
  clientErrorReply,
  type ErrorReply,
  errorReply,
  RequestRefused,
  rawErrorResponse,
  slowBodyReply,
} from "./httpErrors.ts";
import { SERVE_LIMITS } from "./limits.ts";
import { createServeMetrics, type ServeMetrics } from "./metrics.ts";
import { formatOpenapi, useZodApi } from "./openapi.ts";
import { resolveRequest } from "./request.ts";
import { registerRoutes, type ServeHandlers } from "./routes.ts";
import type { BundleHandle, ReloadResult } from "./swap.ts";

export type { ErrorBody } from "./api.ts";
export { errorReply } from "./httpErrors.ts";

export interface ServerOptions {
  /** Largest k a request may ask for (default 1000). */
  maxK?: number;
  /** Fastify/pino logger setting (default false: tests stay quiet; the CLI turns it on). */
  logger?: FastifyServerOptions["logger"];
  /** Time limit of one request from routing to reply, ms (default SERVE_LIMITS.handlerTimeoutMs; tests shorten it). */
  handlerTimeoutMs?: number;
  /** Time to receive a whole request, ms (default SERVE_LIMITS.requestTimeoutMs; tests shorten it). */
  requestTimeoutMs?: number;
  /** The metrics to count into (default: new ones over the bundle's store counters). */
  metrics?: ServeMetrics;
  /**
   * What `GET /metrics` answers (default: `metrics`' own registry). A serving replica answers the
   * aggregate of every replica instead (replicaWorker.ts).
   */
  scrape?: () => Promise<MetricsText>;
  /**
   * What `POST /admin/reload` runs (default: this process's `BundleHandle.reload`, counted in
   * `metrics`). A serving replica asks its primary, which swaps every replica (replicaWorker.ts);
   * each replica counts its own swap.
   */
  reload?: (body: Partial<BundleSource>, log: FastifyBaseLogger) => Promise<ReloadResult>;
}

/** A Prometheus exposition and its content type. */
export interface MetricsText {
  contentType: string;
  text: string;
}

/** `bundles.reload`, counted in `metrics` (a refusal is counted and rethrown). */
function countedReload(bundles: BundleHandle, metrics: ServeMetrics) {
  return async (body: Partial<BundleSource>, log: FastifyBaseLogger): Promise<ReloadResult> => {
    try {
      const r = await bundles.reload(body, log);
      metrics.reload("ok");
      metrics.setModel(r.modelVersion);
      return r;
    } catch (err) {
      metrics.reload("refused");
      throw err;
    }
  };
}

/** The request handlers over `bundles`, counting into `metrics`. */
function bundleHandlers(
  app: FastifyInstance,
  bundles: BundleHandle,
  metrics: ServeMetrics,
  startedAt: number,
  opts: Pick<ServerOptions, "scrape" | "reload">,
): ServeHandlers {
  let openapiText: string | undefined;
  const scrape =
    opts.scrape ??
    (async () => ({ contentType: metrics.registry.contentType, text: await metrics.registry.metrics() }));
  const reload = opts.reload ?? countedReload(bundles, metrics);
  return {
    async candidates(body) {
      const t0 = performance.now();
      const res = await bundles.use(async (b) =>
        answerCandidates(b, resolveRequest(body, b.tables, b.model.contextK)),
      );
      metrics.observe(res.timings, performance.now() - t0);
      metrics.ok();
      if (res.coldStart) metrics.coldStart();
      else if (res.stateAgeSeconds !== null) metrics.stateAge(res.stateAgeSeconds);
      if (res.warnings !== undefined) {
        for (const w of res.warnings) metrics.unknownValue(w.slice(0, w.indexOf(":")));
      }
      return res;
    },

    async health() {
      const b = bundles.current;
      const base = {
        modelVersion: b.modelVersion,
        generation: bundles.generation,
        index: { kind: b.index.manifest.kind, size: b.index.size, dim: b.index.dim },
        uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
        bundleAgeSeconds: Math.round((Date.now() - b.loadedAt) / 1000),
      };
      const store: Health["store"] = {
        url: describeStoreUrl(parseStoreUrl(b.source.storeUrl)),
        version: b.store.versionOf(),
      };
      try {
        // Touches the store, so an unreachable Redis shows up here rather than on the first request.
        store.activeVersion = (await b.store.activeVersion()) ?? null;
        return { status: 200, body: { status: "ok", ...base, store } };
      } catch (err) {
        const error = errorReply(err).body.error;
        return { status: 503, body: { status: "store unavailable", error, ...base, store } };
      }
    },

    metrics: scrape,

    async reload(body, log) {
      try {
        return { status: "swapped", ...(await reload(body ?? {}, log)) };
      } catch (err) {
        log.error({ err }, "reload refused; the previous bundle keeps serving");
        throw err;
      }
    },

    openapi: () => {
      openapiText ??= formatOpenapi(app.swagger());
      return openapiText;
    },
  };
}

/** Builds the app over `bundles` (not listening). Use `app.inject()` in tests, `app.listen()` to serve. */
export function buildServer(bundles: BundleHandle, opts: ServerOptions = {}): FastifyInstance {
  const maxK = opts.maxK ?? DEFAULT_MAX_K;
  const startedAt = Date.now();
  const metrics: ServeMetrics = opts.metrics ?? createServeMetrics(bundles.current.store.counters);
  metrics.setModel(bundles.current.modelVersion);

  const send = (reply: FastifyReply, r: ErrorReply) => {
    metrics.error(r.body.error.code, r.status);
    return reply.status(r.status).send(r.body);
  };
  const requestTimeout = opts.requestTimeoutMs ?? SERVE_LIMITS.requestTimeoutMs;
  const handlerTimeout = opts.handlerTimeoutMs ?? SERVE_LIMITS.handlerTimeoutMs;
  const app = Fastify({
    logger: opts.logger ?? false,
    // No per-request log lines: at 1,000 req/s they would cost more than the request itself.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: SERVE_LIMITS.bodyLimitBytes,
    requestTimeout,
    handlerTimeout,
    keepAliveTimeout: SERVE_LIMITS.keepAliveTimeoutMs,
    maxRequestsPerSocket: SERVE_LIMITS.maxRequestsPerSocket,
    http: {
      maxHeaderSize: SERVE_LIMITS.maxHeaderBytes,
      // Given here too so that Node checks headersTimeout ≤ requestTimeout.
      requestTimeout,
      headersTimeout: Math.min(SERVE_LIMITS.headersTimeoutMs, requestTimeout),
      connectionsCheckingInterval: SERVE_LIMITS.timeoutCheckIntervalMs,
    },
    // While closing, requests still arriving on open connections are served (the bundle closes
    // after the server), instead of Fastify's 503 in its own body shape.
    return503OnClosing: false,
    // A badly encoded URL (FST_ERR_BAD_URL) never reaches the error handler.
    frameworkErrors: (err, _req, reply) => send(reply, errorReply(err)),
    // Malformed HTTP, headers over the limit, request timeout: answered on the raw socket.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: Socket) => {
      if (err.code === "ECONNRESET" || socket.destroyed) return;
      const r = clientErrorReply(err, requestTimeout);
      metrics.error(r.body.error.code, r.status);
      if (socket.writable) socket.write(rawErrorResponse(r, STATUS_CODES[r.status] ?? "Error"));
      socket.destroy(err);
    },
  });

  // Only JSON bodies: without this, text/plain is parsed into a string and reported as a wrong type.
  app.removeContentTypeParser("text/plain");
  app.setErrorHandler((err, req, reply) => {
    // The handler timeout runs from routing, before the body is read: while the body is still
    // arriving it is the client that is slow (408, connection closed), not the server. (`complete`
    // is Node's; `app.inject()` requests have none and arrive whole.)
    const slowBody =
      (err as { code?: string }).code === "FST_ERR_HANDLER_TIMEOUT" && req.raw.complete === false;
    if (slowBody) reply.header("connection", "close");
    const r = slowBody ? slowBodyReply(handlerTimeout) : errorReply(err);
    if (r.status >= 500) req.log.error({ err }, "request failed");
    return send(reply, r);
  });
  // The routes as registered, for the not-found message.
  const routes: string[] = [];
  app.addHook("onRoute", (r) => {
    for (const m of [r.method].flat()) if (m !== "HEAD") routes.push(`${m} ${r.url}`);
  });
  app.setNotFoundHandler((req, reply) =>
    send(
      reply,
      errorReply(new RequestRefused(404, `no route ${req.method} ${req.url}; routes: ${routes.join(", ")}`)),
    ),
  );

  useZodApi(app);
  app.register(async (scope) =>
    registerRoutes(scope, maxK, bundleHandlers(app, bundles, metrics, startedAt, opts)),
  );

  // SIGHUP reloads (from the CLI) report here too, so the metrics see every swap.
  const signalReload = countedReload(bundles, metrics);
  app.decorate("reloadBundles", async (): Promise<void> => {
    try {
      await signalReload({}, app.log);
    } catch (err) {
      app.log.error({ err }, "reload refused; the previous bundle keeps serving");
    }
  });
  return app;
}

/** The reload the CLI calls on SIGHUP (logs and counts; never throws). */
export function reloadOnSignal(app: FastifyInstance): Promise<void> {
  return (app as FastifyInstance & { reloadBundles: () => Promise<void> }).reloadBundles();
}
