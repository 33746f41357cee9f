/**
 * Every error that can leave `ctxrec serve`, turned into the one answer shape
 * `{error: {code, message, field?}}` (api.ts `errorBodySchema`) with a registry code
 * (src/core/errors.ts): ctxrec's own errors, schema validation failures, Fastify's client errors
 * (bad JSON, wrong content type, body too large, bad URL), the handler timeout, and the errors Node
 * raises before a request exists (malformed HTTP, headers too large, request timeout).
 */
import type { z } from "zod";
import { CtxrecError } from "../core/errors.ts";
import { formatPath, showValue } from "../data/schema.ts";
import type { ErrorBody } from "./api.ts";
import { SERVE_LIMITS } from "./limits.ts";

/** Status and body of an error answer. */
export interface ErrorReply {
  status: number;
  body: ErrorBody;
}

/**
 * A client error answered with another status than CTXREC_ERR_REQUEST's 400: 403 for
 * `/admin/reload` from a non-loopback caller, 404 for an unknown route.
 */
export class RequestRefused extends Error {
  constructor(
    readonly statusCode: 403 | 404,
    message: string,
  ) {
    super(message);
    this.name = "RequestRefused";
  }
}

/**
 * The CTXREC_ERR_REQUEST for a zod issue on `input` (the request's `part`, e.g. `body`): the field
 * is the issue's path (`body.context.categories[0].id`), the message names the value received.
 */
export function requestIssueError(issue: z.core.$ZodIssue, input: unknown, part: string): CtxrecError {
  const field = formatPath(issue.path, part);
  let shown = input;
  for (const p of issue.path) {
    shown =
      shown !== null && typeof shown === "object" ? (shown as Record<PropertyKey, unknown>)[p] : undefined;
  }
  // Fastify hands a validator `null` when there is no body, so the two cannot be told apart.
  const received = input === undefined || input === null ? "no body (or null)" : showValue(shown);
  const what =
    issue.code === "unrecognized_keys"
      ? `unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}; the fields are listed in docs/serving.md`
      : `${issue.message}, received ${received}`;
  return new CtxrecError("CTXREC_ERR_REQUEST", what, { field });
}

/** The fields of a Fastify error (`FST_ERR_…`, from @fastify/error) that the mapping reads. */
interface FastifyErrorLike {
  statusCode?: number;
  code?: string;
  message?: string;
}

/** The request part a Fastify client error is about, and how to fix it. */
function fastifyClientError(e: FastifyErrorLike): { field?: string; fix: string } {
  switch (e.code) {
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return { field: "body", fix: "send Content-Type: application/json" };
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return { field: "body", fix: `send at most ${SERVE_LIMITS.bodyLimitBytes / 1024} KiB` };
    case "FST_ERR_BAD_URL":
    case "FST_ERR_MAX_PARAM_LENGTH":
      return { field: "url", fix: "send a correctly percent-encoded URL" };
    default:
      return e.code?.startsWith("FST_ERR_CTP_") === true
        ? { field: "body", fix: "send one JSON object as described in docs/serving.md" }
        : { fix: "see docs/serving.md for the routes and their bodies" };
  }
}

const reply = (status: number, error: ErrorBody["error"]): ErrorReply => ({ status, body: { error } });

/** Status and body for any error reaching a route's error handler. */
export function errorReply(err: unknown): ErrorReply {
  if (err instanceof CtxrecError) {
    const field = err.location.field ?? err.location.param;
    return reply(err.status, {
      code: err.code,
      message: err.message,
      ...(field !== undefined ? { field } : {}),
    });
  }
  if (err instanceof RequestRefused)
    return reply(err.statusCode, { code: "CTXREC_ERR_REQUEST", message: err.message });
  const e = (err ?? {}) as FastifyErrorLike;
  if (e.code === "FST_ERR_HANDLER_TIMEOUT") {
    return reply(503, {
      code: "CTXREC_ERR_TIMEOUT",
      message: `${e.message} (the feature store may be slow or the server overloaded; retry, and check /healthz and /metrics)`,
    });
  }
  if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    // Fastify's own client errors (FST_ERR_CTP_INVALID_JSON_BODY, _INVALID_MEDIA_TYPE, _BODY_TOO_LARGE, FST_ERR_BAD_URL…).
    const { field, fix } = fastifyClientError(e);
    const where = field === undefined ? "" : `${field}: `;
    return reply(e.statusCode, {
      code: "CTXREC_ERR_REQUEST",
      message: `${where}${e.message ?? "malformed request"} (${e.code ?? "bad request"}); ${fix}`,
      ...(field !== undefined ? { field } : {}),
    });
  }
  return reply(500, {
    code: "CTXREC_ERR_INTERNAL",
    message: `internal error: ${e.message ?? String(err)}`,
  });
}

/**
 * Status and body for an error Node raises on a connection before there is a request (Fastify's
 * `clientErrorHandler`): the request timeout, headers over the limit, malformed HTTP.
 */
export function clientErrorReply(
  err: { code?: string; message?: string },
  requestTimeoutMs: number = SERVE_LIMITS.requestTimeoutMs,
): ErrorReply {
  if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") {
    return reply(408, {
      code: "CTXREC_ERR_REQUEST",
      message: `the request was not received within ${requestTimeoutMs} ms; send the whole request at once`,
    });
  }
  if (err.code === "HPE_HEADER_OVERFLOW") {
    return reply(431, {
      code: "CTXREC_ERR_REQUEST",
      message: `headers: over ${SERVE_LIMITS.maxHeaderBytes} bytes; send fewer or shorter headers`,
      field: "headers",
    });
  }
  return reply(400, {
    code: "CTXREC_ERR_REQUEST",
    message: `malformed HTTP request (${err.code ?? "parse error"}: ${err.message ?? ""}); send HTTP/1.1`,
  });
}

/**
 * Status and body for a handler timeout that fired while the request's body was still arriving:
 * Fastify starts the handler timeout at routing, before it reads the body, so a sender that has
 * not finished its body by then is a slow client (408, like the request timeout), not a slow
 * server (503).
 */
export function slowBodyReply(handlerTimeoutMs: number): ErrorReply {
  return reply(408, {
    code: "CTXREC_ERR_REQUEST",
    message: `the request body was not received within ${handlerTimeoutMs} ms of its headers; send the whole request at once`,
    field: "body",
  });
}

/** A complete HTTP/1.1 response for `r`, to write on a raw socket that is then closed. */
export function rawErrorResponse(r: ErrorReply, statusText: string): string {
  const body = JSON.stringify(r.body);
  return `HTTP/1.1 ${r.status} ${statusText}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}
