/**
 * Every limit `ctxrec serve` enforces, in one place; docs/serving.md ("Limits") lists each with its
 * value and this file as where it is set. Request-shape limits (k, categories, id length) live with
 * the request schema in `api.ts`, which the OpenAPI description is generated from.
 */

/** Hard limits of the HTTP server (Node `http` and Fastify settings). */
export const SERVE_LIMITS = {
  /**
   * Largest request body in bytes (Fastify `bodyLimit`; over it: 413). The largest valid request
   * (64 categories of 512-character ids) is about 37 KiB.
   */
  bodyLimitBytes: 64 * 1024,
  /** Largest request header block in bytes (Node `maxHeaderSize`, its default made explicit; over it: 431). */
  maxHeaderBytes: 16 * 1024,
  /**
   * Time to receive a whole request, headers and body, in ms (Node `requestTimeout`; over it: 408
   * and the connection is closed). Guards against slow senders holding sockets open.
   */
  requestTimeoutMs: 10_000,
  /** Time to receive the request headers, in ms (Node `headersTimeout`, ≤ requestTimeout). */
  headersTimeoutMs: 10_000,
  /**
   * How often Node checks the two timeouts above, in ms (`connectionsCheckingInterval`, default
   * 30 s, which would let a 10 s timeout fire anywhere up to 40 s).
   */
  timeoutCheckIntervalMs: 1_000,
  /**
   * Time from routing to the reply of one request, in ms (Fastify `handlerTimeout`; over it: 503
   * CTXREC_ERR_TIMEOUT). A backstop for a stalled store (ioredis queues commands while it
   * reconnects): requests answer in about a millisecond.
   */
  handlerTimeoutMs: 5_000,
  /** The same for `POST /admin/reload`, which loads a whole bundle (a 1M-item index takes seconds). */
  reloadTimeoutMs: 600_000,
  /**
   * Idle time before a keep-alive connection is closed, in ms (Node `keepAliveTimeout`, Fastify's
   * default made explicit): longer than the 60 s idle timeout of common load balancers, so the
   * balancer, not the server, closes idle connections and never sends on a closing one.
   */
  keepAliveTimeoutMs: 72_000,
  /** Requests per keep-alive connection (Node `maxRequestsPerSocket`); 0 = unlimited, no reconnect churn. */
  maxRequestsPerSocket: 0,
} as const;

/** Callers `POST /admin/reload` accepts (others: 403). */
export const LOOPBACK_ADDRESSES: ReadonlySet<string> = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);

/** Address `ctxrec serve` listens on unless `--host` says otherwise: loopback only. */
export const DEFAULT_HOST = "127.0.0.1";

/** Largest value `ctxrec serve --max-k` accepts. */
export const MAX_K_CEILING = 100_000;

/** Largest value `ctxrec serve --workers` accepts (each replica holds a whole bundle in memory). */
export const MAX_WORKERS = 64;
