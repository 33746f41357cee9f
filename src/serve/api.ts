/**
 * The HTTP contract of `ctxrec serve` as zod schemas: every route's request and responses, and
 * the one error shape `{error: {code, message, field?}}`. Fastify validates requests and
 * serialises answers from these (`zodCompilers.ts`), and the OpenAPI description
 * (`GET /openapi.json`, docs/openapi.json) is generated from them (`openapi.ts`), so the three
 * cannot drift apart.
 *
 * Descriptions and component ids are kept in `apiRegistry` (not zod's global registry), which the
 * OpenAPI transform reads.
 */
import { z } from "zod";
import { ERROR_CODES, type ErrorCode } from "../core/errors.ts";

/** Metadata the OpenAPI transform reads: `id` makes a schema a shared component. */
export interface ApiMeta {
  id?: string;
  description?: string;
  [key: string]: unknown;
}

/** Descriptions and component ids of the API's schemas. */
export const apiRegistry = z.registry<ApiMeta>();

/** A copy of `schema` with an OpenAPI description (a copy, so shared schemas keep theirs apart). */
function doc<T extends z.ZodType>(schema: T, description: string): T {
  const copy = schema.clone();
  apiRegistry.add(copy as z.ZodType, { description });
  return copy;
}

/** Largest `k` a request may ask for unless the server is configured otherwise (`--max-k`). */
export const DEFAULT_MAX_K = 1000;
/** Most categories a request may list as its context. */
export const MAX_REQUEST_CATEGORIES = 64;
/** Longest id (user, item, category, demographic value) a request may send. */
export const MAX_ID_LENGTH = 512;

// ---------------------------------------------------------------------------------------------
// Errors

const errorCodes = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];

/** `{code, message, field?}`: what every error answer carries (and /healthz's `error` when the store is down). */
export const errorDetailSchema = z
  .object({
    code: doc(
      z.enum(errorCodes),
      `Stable code from the error registry (src/core/errors.ts, docs/errors.md):\n${errorCodes
        .map((c) => `- \`${c}\` (${ERROR_CODES[c].status}): ${ERROR_CODES[c].summary}`)
        .join("\n")}`,
    ),
    message: doc(z.string(), "What is wrong, naming the field, the value received and the fix."),
    field: doc(
      z.string().optional(),
      "The request field at fault, as a path (`body.k`, `body.context.categories[0].id`, `body`, `url`); absent when the error is not about one field.",
    ),
  })
  .register(apiRegistry, { id: "ErrorDetail" });

/** The body of every 4xx/5xx answer. */
export const errorBodySchema = z
  .object({ error: errorDetailSchema })
  .register(apiRegistry, { id: "Error", description: "The one shape of every error answer." });

export type ErrorBody = z.output<typeof errorBodySchema>;

// ---------------------------------------------------------------------------------------------
// POST /v1/candidates

const idString = z
  .string({ error: "expected a non-empty string" })
  .min(1, "expected a non-empty string")
  .max(MAX_ID_LENGTH, `expected at most ${MAX_ID_LENGTH} characters`);

const categorySchema = z.strictObject({
  id: doc(idString, "Category id from the training catalogue."),
  confidence: z
    .number({ error: "expected a number in (0, 1]" })
    .gt(0, "expected a number in (0, 1]")
    .lte(1, "expected a number in (0, 1]"),
});

const contextSchema = doc(
  z
    .strictObject({
      subjectItemId: doc(
        idString.optional(),
        "The item the user is looking at: its top categories become the context; it is never among the candidates.",
      ),
      categories: doc(
        z
          .array(categorySchema, { error: "expected an array of {id, confidence}" })
          .min(1, "expected at least one category (omit context for none)")
          .max(MAX_REQUEST_CATEGORIES, `expected at most ${MAX_REQUEST_CATEGORIES} categories`)
          .optional(),
        `Weighted categories (1–${MAX_REQUEST_CATEGORIES}, each once); the top ones by confidence are used, normalised to sum 1.`,
      ),
    })
    .refine((c) => (c.subjectItemId === undefined) !== (c.categories === undefined), {
      error: "expected exactly one of subjectItemId or categories",
    }),
  "Exactly one of subjectItemId or categories; without a context the model's learned no-context vector is used.",
);

const demographicsSchema = doc(
  z.strictObject({
    age: z
      .number({ error: "expected an integer age in [0, 150]" })
      .int("expected an integer age in [0, 150]")
      .min(0, "expected an integer age in [0, 150]")
      .max(150, "expected an integer age in [0, 150]")
      .optional(),
    country: idString.optional(),
    gender: idString.optional(),
    occupation: idString.optional(),
  }),
  "Each optional; a value the model does not know is treated as missing and reported in `warnings`.",
);

/** The request body schema for a server whose largest k is `maxK`. */
export function candidatesRequestSchema(maxK: number) {
  return z.strictObject(
    {
      userId: doc(idString, "User whose cached sequence state is read (none: the cold-start path)."),
      context: contextSchema.optional(),
      demographics: demographicsSchema.optional(),
      k: doc(
        z
          .number({ error: `expected an integer in [1, ${maxK}]` })
          .int(`expected an integer in [1, ${maxK}]`)
          .min(1, `expected an integer in [1, ${maxK}]`)
          .max(maxK, `expected an integer in [1, ${maxK}] (ask for fewer candidates)`),
        "Number of candidates; the maximum is the server's `--max-k`.",
      ),
      filter: doc(
        z.strictObject({ country: idString }).optional(),
        "Only items eligible in `country` (items without a country list are eligible everywhere).",
      ),
    },
    { error: "expected object {userId, k, context?, demographics?, filter?}" },
  );
}

export type CandidatesRequest = z.infer<ReturnType<typeof candidatesRequestSchema>>;

const ms = z.number();

export const candidatesResponseSchema = z.object({
  candidates: doc(
    z.array(z.object({ itemId: z.string(), score: doc(z.number(), "Inner product u · v_item.") })),
    "Best first; scores non-increasing.",
  ),
  modelVersion: doc(z.string(), "The model version every part of the bundle agreed on."),
  stateAgeSeconds: doc(
    z.number().nullable(),
    "Seconds since the newest event the cached state saw; null on the cold-start path.",
  ),
  coldStart: z.boolean(),
  timings: doc(z.object({ storeMs: ms, towerMs: ms, annMs: ms }), "Milliseconds per stage."),
  warnings: doc(
    z.array(z.string()).optional(),
    "Request values treated as missing (`demographics.country: unknown value, …`); only when there are some.",
  ),
});

export type CandidatesAnswer = z.output<typeof candidatesResponseSchema>;

// ---------------------------------------------------------------------------------------------
// GET /healthz

const count = z.number().int().nonnegative();

export const healthSchema = z.object({
  status: z.enum(["ok", "store unavailable"]),
  error: doc(errorDetailSchema.optional(), "Why the store could not be read (status 503 only)."),
  modelVersion: z.string(),
  generation: doc(count, "Hot-swap generation (0 = the bundle the server started with)."),
  index: z.object({ kind: z.string(), size: count, dim: count }),
  store: z.object({
    url: doc(z.string(), "The store's address with any password removed."),
    version: doc(z.string(), "The model version whose namespace the service reads."),
    activeVersion: doc(
      z.string().nullable().optional(),
      "The store's active version (null: none activated); absent when the store is unreachable.",
    ),
  }),
  uptimeSeconds: count,
  bundleAgeSeconds: count,
});

export type Health = z.output<typeof healthSchema>;

// ---------------------------------------------------------------------------------------------
// POST /admin/reload

const pathString = z
  .string({ error: "expected a non-empty path string" })
  .min(1, "expected a non-empty path string");

/** Optional body of a reload: paths that replace the current ones (and stay for later reloads). */
export const reloadRequestSchema = doc(
  z
    .strictObject(
      {
        modelDir: pathString.optional(),
        indexPath: pathString.optional(),
        storeUrl: doc(
          pathString.optional(),
          "`file:PATH`, `redis://HOST:PORT[/DB]` or `redis-cluster://HOST:PORT,HOST:PORT,…`.",
        ),
      },
      { error: "expected object {modelDir?, indexPath?, storeUrl?} or no body" },
    )
    // Fastify hands a route without a body `null`.
    .nullish(),
  "Without a body the same paths are reloaded (the usual flow: train/index replace their outputs atomically).",
);

export type ReloadRequest = z.output<typeof reloadRequestSchema>;

export const reloadResponseSchema = z.object({
  status: z.literal("swapped"),
  previousVersion: z.string(),
  modelVersion: z.string(),
  generation: count,
});

export type ReloadAnswer = z.output<typeof reloadResponseSchema>;
