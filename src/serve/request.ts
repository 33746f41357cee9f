/**
 * The `POST /v1/candidates` request after validation: its resolution against one bundle's
 * vocabularies (ids → codes, context row, demographic codes, eligibility filter).
 *
 * Decisions (docs/serving.md, "Errors"):
 *   - an unknown subject item or category id is a client error (CTXREC_ERR_DATA_UNKNOWN_ID, 404
 *     naming the field): the caller asked about something this model does not know, and silently
 *     answering without context would hide the mistake;
 *   - an unknown demographic value (a new country, an age bucket the training data lacked) is
 *     treated as MISSING (code 1, the embedding the model learned for "no value"), reported in
 *     `warnings` and counted: profiles drift faster than models are retrained, and refusing every
 *     user from a new country would take the service down for them;
 *   - an unknown `filter.country` gives the items eligible everywhere (the data layer's rule for a
 *     country no item is restricted to).
 *
 * The request schema is in `api.ts` (the HTTP contract). Shapes: k context slots (the online
 * graph's contextK).
 */
import { CtxrecError } from "../core/errors.ts";
import type { ContextInput } from "../model/contextLayer.ts";
import { contextFromItems, emptyContextBatch } from "../train/context.ts";
import { normaliseRow, writeTopK } from "../train/contextBatch.ts";
import type { CandidatesRequest, candidatesRequestSchema } from "./api.ts";
import { requestIssueError } from "./httpErrors.ts";
import { demographicValue, type ServingTables } from "./tables.ts";

/**
 * Parses a body outside Fastify (the server validates through the same schema in its validator
 * compiler); throws CTXREC_ERR_REQUEST (400) naming the first bad field and its value.
 */
export function parseCandidatesRequest(
  schema: ReturnType<typeof candidatesRequestSchema>,
  body: unknown,
): CandidatesRequest {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  throw requestIssueError(r.error.issues[0], body, "body");
}

/** A request resolved against one bundle: codes and the one-row inputs of the online tower. */
export interface ResolvedRequest {
  userId: string;
  k: number;
  /** Item id to leave out of the candidates (the subject item), when the context named one. */
  excludeItemId?: string;
  /** One row: catIds/weights [1, k], present [1]. */
  context: ContextInput;
  /** Per served field, [1] code (1 = missing). */
  demographics: Record<string, Int32Array>;
  /** `filter.country` as given; resolved against the bundle's item countries when searching. */
  filterCountry?: string;
  /** Values treated as missing, for the response and the metrics: `demographics.country`. */
  unknownFields: string[];
}

function unknownId(field: string, kind: string, id: string): CtxrecError {
  return new CtxrecError(
    "CTXREC_ERR_DATA_UNKNOWN_ID",
    `unknown ${kind} id ${JSON.stringify(id)}: the served model's vocabulary does not hold it; send an id from the training catalogue (or omit the context)`,
    { field },
  );
}

/** The context row of the request (`contextK` slots), with the rule the model was trained with. */
function resolveContext(req: CandidatesRequest, t: ServingTables, contextK: number): ContextInput {
  const c = req.context;
  if (c === undefined) return emptyContextBatch(1, contextK);
  if (c.subjectItemId !== undefined) {
    const code = t.items.get(c.subjectItemId);
    if (code === undefined) throw unknownId("body.context.subjectItemId", "item", c.subjectItemId);
    // The subject item's top-k categories, normalised: what contextFromItems gave in training/eval.
    return contextFromItems([code], t.features, contextK);
  }
  const cats = c.categories ?? [];
  const ids = new Int32Array(cats.length);
  const conf = new Float32Array(cats.length);
  for (let j = 0; j < cats.length; j++) {
    const code = t.categories.get(cats[j].id);
    if (code === undefined) throw unknownId(`body.context.categories[${j}].id`, "category", cats[j].id);
    if (ids.subarray(0, j).includes(code)) {
      throw new CtxrecError(
        "CTXREC_ERR_REQUEST",
        `category ${JSON.stringify(cats[j].id)} is listed twice; list each category once`,
        { field: `body.context.categories[${j}].id` },
      );
    }
    ids[j] = code;
    conf[j] = cats[j].confidence;
  }
  // Same top-k by confidence and normalisation as an item's own categories (contextBatch.ts).
  const batch = emptyContextBatch(1, contextK);
  normaliseRow(batch, 0, writeTopK(ids, conf, 0, cats.length, batch, 0));
  return batch;
}

/** Resolves `req` against the tables of one bundle (`contextK` = the online graph's slots). */
export function resolveRequest(req: CandidatesRequest, t: ServingTables, contextK: number): ResolvedRequest {
  const context = resolveContext(req, t, contextK);
  const unknownFields: string[] = [];
  const demographics: Record<string, Int32Array> = {};
  const given = (req.demographics ?? {}) as Record<string, string | number | undefined>;
  for (const [field, codes] of Object.entries(t.demographics)) {
    const v = given[field];
    let code = 1; // missing
    if (v !== undefined) {
      const c = codes.get(demographicValue(field, v));
      if (c === undefined) unknownFields.push(`demographics.${field}`);
      else code = c;
    }
    demographics[field] = Int32Array.of(code);
  }
  const out: ResolvedRequest = {
    userId: req.userId,
    k: req.k,
    context,
    demographics,
    unknownFields,
  };
  if (req.context?.subjectItemId !== undefined) out.excludeItemId = req.context.subjectItemId;
  if (req.filter !== undefined) out.filterCountry = req.filter.country;
  return out;
}
