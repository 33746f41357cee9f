/**
 * Canonical data-layer schema (zod) and its TypeScript types. Every reader turns its input format
 * into these three row kinds; ids are strings in files. `src/synth/types.ts` (WorldItem, WorldUser)
 * writes exactly these field names.
 */
import { z } from "zod";
import { CtxrecError, type ErrorLocation } from "../core/errors.ts";

const id = z.string({ error: "expected a string id" }).min(1, { error: "expected a non-empty string id" });

/** Optional field that also accepts JSON `null` as "missing". */
function optional<T extends z.ZodType>(schema: T) {
  return schema.nullish().transform((v) => v ?? undefined);
}

export const categorySchema = z.object({
  id,
  confidence: z
    .number({ error: "expected a number in (0, 1]" })
    .gt(0, { error: "expected a number in (0, 1]" })
    .lte(1, { error: "expected a number in (0, 1]" }),
});

const OBJECT = { error: "expected a JSON object" };

export const itemSchema = z.object(
  {
    id,
    /** Interest categories with confidences; may be empty (the item still trains through its id). */
    categories: z.array(categorySchema, { error: "expected an array of {id, confidence}" }),
    advertiser: optional(id),
    bid: optional(
      z
        .number({ error: "expected a finite number ≥ 0" })
        .nonnegative({ error: "expected a finite number ≥ 0" }),
    ),
    /** Countries the item may be shown in; absent = everywhere. */
    countries: optional(z.array(id, { error: "expected an array of country codes" })),
  },
  OBJECT,
);

export const userSchema = z.object(
  {
    id,
    age: optional(
      z
        .number({ error: "expected an integer age in [0, 150]" })
        .int({ error: "expected an integer age in [0, 150]" })
        .min(0, { error: "expected an integer age in [0, 150]" })
        .max(150, { error: "expected an integer age in [0, 150]" }),
    ),
    country: optional(id),
    gender: optional(id),
    /** Not in the issue's minimal schema: MovieLens-100K ships it, so it is an optional demographic. */
    occupation: optional(id),
  },
  OBJECT,
);

const TIMESTAMP_ERROR =
  "expected Unix seconds (a number ≥ 0) or an ISO-8601 date-time with a zone (e.g. 2024-05-01T12:00:00Z)";

/** Unix seconds, or an ISO-8601 date / date-time with zone (a zone-less time would depend on the host's zone). */
export const timestampSchema = z
  .union(
    [
      z.number({ error: TIMESTAMP_ERROR }).nonnegative({ error: TIMESTAMP_ERROR }),
      z.iso.datetime({ offset: true, error: TIMESTAMP_ERROR }),
      z.iso.date({ error: TIMESTAMP_ERROR }),
    ],
    { error: TIMESTAMP_ERROR },
  )
  .transform((v) => (typeof v === "number" ? v : Date.parse(v) / 1000));

export const eventSchema = z.object(
  {
    user: id,
    item: id,
    /** Unix seconds after parsing (ISO strings are converted). */
    timestamp: timestampSchema,
    /** Event type, e.g. checkout, add_to_cart, signup, page_visit. */
    type: optional(id),
  },
  OBJECT,
);

/** An interest category of an item with its confidence in (0, 1]. */
export interface Category {
  id: string;
  confidence: number;
}

/** A catalogue item (what `itemSchema` produces). */
export interface Item {
  id: string;
  categories: Category[];
  advertiser?: string;
  bid?: number;
  countries?: string[];
}

/** A user profile (what `userSchema` produces); every demographic may be missing. */
export interface User {
  id: string;
  age?: number;
  country?: string;
  gender?: string;
  occupation?: string;
}

/** An event (what `eventSchema` produces); `timestamp` in Unix seconds. */
export interface Event {
  user: string;
  item: string;
  timestamp: number;
  type?: string;
}

/** The demographic fields a user may carry, in a fixed order. */
export const DEMOGRAPHIC_FIELDS = ["age", "country", "gender", "occupation"] as const;
export type DemographicField = (typeof DEMOGRAPHIC_FIELDS)[number];

/** Renders a zod path as `categories[1].confidence`. */
export function formatPath(path: readonly PropertyKey[], prefix = ""): string {
  let out = prefix;
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? String(p) : `.${String(p)}`;
  }
  return out;
}

/** Short, single-line rendering of a bad value for messages. */
export function showValue(v: unknown): string {
  let s: string;
  if (v === undefined) return "nothing (field missing)";
  if (typeof v === "number" && !Number.isFinite(v)) s = String(v);
  else s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** A raw line of input for messages: single-quoted, cut to 60 characters. */
export function showText(s: string): string {
  return `'${s.length > 60 ? `${s.slice(0, 57)}...` : s}'`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/**
 * Validates `value` against `schema`; on failure throws CTXREC_ERR_DATA_BAD_ROW at
 * `file:line: field` for the first issue, naming the bad value.
 */
export function parseRow<T extends z.ZodType>(schema: T, value: unknown, loc: ErrorLocation): z.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = formatPath(issue.path, loc.field ?? "");
  const got = valueAt(value, issue.path);
  throw new CtxrecError("CTXREC_ERR_DATA_BAD_ROW", `${issue.message}, got ${showValue(got)}`, {
    ...loc,
    field: field === "" ? undefined : field,
  });
}
