/**
 * The routes of `ctxrec serve`, registered from the zod schemas of `api.ts` with their documented
 * answers. One function registers them for the real server (`server.ts`, handlers over a bundle)
 * and for the description alone (`openapi.ts`, handlers that are never called), so the served
 * `/openapi.json` and the committed docs/openapi.json come from the same registration.
 *
 *   POST /v1/candidates   {userId, context?, demographics?, k, filter?} → candidates
 *   GET  /healthz         model version, index size, store version, uptime
 *   GET  /metrics         Prometheus text
 *   POST /admin/reload    hot swap (loopback callers only; optional {modelDir, indexPath, storeUrl})
 *   GET  /openapi.json    this API's OpenAPI 3.1 description
 */
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  type CandidatesAnswer,
  type CandidatesRequest,
  candidatesRequestSchema,
  candidatesResponseSchema,
  errorBodySchema,
  type Health,
  healthSchema,
  type ReloadAnswer,
  type ReloadRequest,
  reloadRequestSchema,
  reloadResponseSchema,
} from "./api.ts";
import { RequestRefused } from "./httpErrors.ts";
import { LOOPBACK_ADDRESSES, SERVE_LIMITS } from "./limits.ts";

/** What the routes call; the return types are the response schemas' (checked by tsc). */
export interface ServeHandlers {
  candidates(body: CandidatesRequest): Promise<CandidatesAnswer>;
  /** 200 with the health, or 503 when the store cannot be read. */
  health(): Promise<{ status: 200 | 503; body: Health }>;
  metrics(): Promise<{ contentType: string; text: string }>;
  /** Called for loopback callers only. */
  reload(body: ReloadRequest, log: FastifyBaseLogger): Promise<ReloadAnswer>;
  /** The OpenAPI document as JSON text. */
  openapi(): string;
}

const json = (description: string, schema: z.ZodType) => ({
  description,
  content: { "application/json": { schema } },
});

const kib = SERVE_LIMITS.bodyLimitBytes / 1024;
const timeoutS = SERVE_LIMITS.handlerTimeoutMs / 1000;

/** Error answers common to every route, by status. */
const ERRORS = {
  400: "`CTXREC_ERR_REQUEST`: the request is malformed; `field` names the part (`url` for a badly encoded URL).",
  413: `\`CTXREC_ERR_REQUEST\`: body over ${kib} KiB (field \`body\`).`,
  415: "`CTXREC_ERR_REQUEST`: Content-Type is not application/json (field `body`).",
  500: "`CTXREC_ERR_INTERNAL` or another 500 code of the registry: a failure inside the service (a bug).",
  503: `\`CTXREC_ERR_TIMEOUT\`: no answer within ${timeoutS} s.`,
} as const;

const errors = (statuses: Partial<Record<keyof typeof ERRORS | 403 | 404 | 409, string>>) =>
  Object.fromEntries(Object.entries(statuses).map(([s, d]) => [s, json(d, errorBodySchema)]));

/** Registers the routes on `app` (whose compilers and swagger plugin `useZodApi` set up). */
export function registerRoutes(app: FastifyInstance, maxK: number, h: ServeHandlers): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    "/v1/candidates",
    {
      schema: {
        operationId: "candidates",
        summary: "Top-k candidate items for a user in a context",
        description:
          "Reads the user's cached sequence state (missing: cold start), runs the online tower on it with the context and demographics, and returns the top-k items by u · v under the eligibility filter.",
        body: candidatesRequestSchema(maxK),
        response: {
          200: json("The candidates, best first.", candidatesResponseSchema),
          ...errors({
            400: `${ERRORS[400]} Wrong type or range (\`body.k\`, \`body.demographics.age\`…), \`k\` above ${maxK} (the server's \`--max-k\`), an unknown field, both or neither of \`subjectItemId\`/\`categories\`, a category listed twice, malformed JSON or no body (\`body\`).`,
            404: "`CTXREC_ERR_DATA_UNKNOWN_ID`: an unknown subject item or category (field `body.context.subjectItemId`, `body.context.categories[i].id`).",
            409: "`CTXREC_ERR_ARTIFACT_VERSION`: the store holds a state of another model version for this user's namespace.",
            413: ERRORS[413],
            415: ERRORS[415],
            500: ERRORS[500],
            503: `\`CTXREC_ERR_STORE\`: the feature store is unreachable. ${ERRORS[503]}`,
          }),
        },
      },
    },
    (req) => h.candidates(req.body),
  );

  r.get(
    "/healthz",
    {
      schema: {
        operationId: "health",
        summary: "Model version, index, store and uptime",
        description: "Reads the store's active version, so an unreachable store shows here.",
        response: {
          200: json("Serving.", healthSchema),
          ...errors({ 400: ERRORS[400], 500: ERRORS[500] }),
          503: json(
            `The store cannot be read: \`status\` is "store unavailable" and \`error\` says why. (A timeout answers the error shape: ${ERRORS[503]})`,
            healthSchema,
          ),
        },
      },
    },
    async (_req, reply) => {
      const { status, body } = await h.health();
      reply.status(status);
      return body;
    },
  );

  r.get(
    "/metrics",
    {
      schema: {
        operationId: "metrics",
        summary: "Prometheus metrics",
        description: "Latency per stage, outcomes, errors by code, cold starts, reloads (docs/serving.md).",
        response: {
          200: {
            description: "Prometheus text exposition format.",
            content: { "text/plain; version=0.0.4; charset=utf-8": { schema: z.string() } },
          },
          ...errors({ 400: ERRORS[400], 500: ERRORS[500], 503: ERRORS[503] }),
        },
      },
    },
    async (_req, reply) => {
      const m = await h.metrics();
      reply.type(m.contentType);
      return m.text;
    },
  );

  r.post(
    "/admin/reload",
    {
      // Refused before the body is even read.
      onRequest: async (req) => {
        if (!LOOPBACK_ADDRESSES.has(req.socket.remoteAddress ?? "")) {
          throw new RequestRefused(
            403,
            `reload is only accepted from loopback, not ${req.socket.remoteAddress}; send SIGHUP or call it on the host`,
          );
        }
      },
      handlerTimeout: SERVE_LIMITS.reloadTimeoutMs,
      schema: {
        operationId: "reload",
        summary: "Hot swap to a new bundle (loopback callers only)",
        description:
          "Loads the new model, ONNX export, index and store version completely, checks that they agree, then swaps; the old bundle serves until then and keeps serving when the load is refused.",
        body: reloadRequestSchema,
        response: {
          200: json("Swapped.", reloadResponseSchema),
          ...errors({
            400: `${ERRORS[400]} A path that is not a non-empty string (\`body.modelDir\`…), a missing model file (\`CTXREC_ERR_DATA_MISSING_FILE\`).`,
            403: "`CTXREC_ERR_REQUEST`: the caller is not on loopback (127.0.0.1, ::1).",
            409: "`CTXREC_ERR_ARTIFACT_VERSION`: the model, ONNX export, index and store's active version disagree; the old bundle keeps serving.",
            413: ERRORS[413],
            415: ERRORS[415],
            500: `${ERRORS[500]} Also \`CTXREC_ERR_ARTIFACT_CORRUPT\`: a file failed its integrity check.`,
            503: `\`CTXREC_ERR_STORE\`: the store is unreachable. \`CTXREC_ERR_TIMEOUT\`: no answer within ${SERVE_LIMITS.reloadTimeoutMs / 1000} s.`,
          }),
        },
      },
    },
    (req) => h.reload(req.body, req.log),
  );

  r.get(
    "/openapi.json",
    {
      schema: {
        operationId: "openapi",
        summary: "This OpenAPI 3.1 description",
        description:
          "Generated from the zod schemas the server validates with; the same as docs/openapi.json for a server started with the default `--max-k`.",
        response: {
          200: json("The OpenAPI document.", z.record(z.string(), z.unknown())),
          ...errors({ 400: ERRORS[400], 500: ERRORS[500] }),
        },
      },
    },
    async (_req, reply) => {
      reply.type("application/json; charset=utf-8");
      return h.openapi();
    },
  );
}
