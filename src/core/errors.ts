/**
 * The one registry of ctxrec errors (modelled on Fastify's `lib/errors.js`).
 *
 * Every error has a stable code, a message template, an HTTP status where one applies, and a
 * location (file:line:field, or parameter and shape). Messages name the bad value and the fix.
 * `docs/errors.md` documents every code; a test keeps the two in step.
 */

/** Where an error happened: a place in an input file, or a parameter of a call. */
export interface ErrorLocation {
  file?: string;
  /** 1-based line number within `file`. */
  line?: number;
  field?: string;
  param?: string;
}

interface ErrorSpec {
  /** HTTP status to answer with when the error reaches the service edge. */
  status: number;
  /** What the error means, for the docs. */
  summary: string;
}

/** Stable error codes. Add new ones here and in docs/errors.md (a test checks both agree). */
export const ERROR_CODES = {
  CTXREC_ERR_DATA_BAD_ROW: {
    status: 400,
    summary: "An input row failed validation (wrong type, missing field, bad value).",
  },
  CTXREC_ERR_DATA_ENCODING: {
    status: 400,
    summary: "An input file is not in the expected text encoding or is corrupt.",
  },
  CTXREC_ERR_DATA_EMPTY: { status: 400, summary: "An input file or data set has no usable rows." },
  CTXREC_ERR_DATA_UNKNOWN_ID: {
    status: 404,
    summary: "A row refers to a user, item or category that is not known.",
  },
  CTXREC_ERR_DATA_MISSING_FILE: { status: 400, summary: "A required input file does not exist." },
  CTXREC_ERR_ARTIFACT_VERSION: {
    status: 409,
    summary: "An artifact was written by another format or model version.",
  },
  CTXREC_ERR_ARTIFACT_CORRUPT: {
    status: 500,
    summary: "An artifact failed its integrity check (hash or size mismatch).",
  },
  CTXREC_ERR_ARG: { status: 400, summary: "A function or command argument is invalid." },
  CTXREC_ERR_SHAPE: { status: 500, summary: "A tensor or array has the wrong shape or length." },
  CTXREC_ERR_NUMERIC: {
    status: 500,
    summary: "A value is NaN or infinite where a finite number is required.",
  },
  CTXREC_ERR_ENGINE: {
    status: 500,
    summary:
      "The training engine is misconfigured (wrong library version, missing kernel) or a step does not fit in the wasm heap.",
  },
  CTXREC_ERR_STORE: { status: 503, summary: "The feature store or vector index failed or is unreachable." },
  CTXREC_ERR_REQUEST: { status: 400, summary: "An HTTP request is malformed or asks for something invalid." },
  CTXREC_ERR_TIMEOUT: {
    status: 503,
    summary:
      "A request was not answered within the service's time limit (a slow store or an overloaded server).",
  },
  CTXREC_ERR_INTERNAL: {
    status: 500,
    summary: "An unexpected failure inside ctxrec (a bug): the message says what failed; please report it.",
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Renders a location as `file:line: field` (the parts that are known). */
export function formatLocation(loc: ErrorLocation): string {
  const parts: string[] = [];
  if (loc.file !== undefined) parts.push(loc.line !== undefined ? `${loc.file}:${loc.line}` : loc.file);
  if (loc.field !== undefined) parts.push(loc.field);
  if (loc.param !== undefined) parts.push(`parameter ${loc.param}`);
  return parts.join(": ");
}

/** The only error type ctxrec throws on purpose. */
export class CtxrecError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly location: ErrorLocation;

  constructor(code: ErrorCode, reason: string, location: ErrorLocation = {}, options?: { cause?: unknown }) {
    const where = formatLocation(location);
    super(where ? `${where}: ${reason}` : reason, options);
    this.name = "CtxrecError";
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.location = location;
  }
}

/** Wraps an error from a library (tfjs, SQLite, Redis…) into a CtxrecError with a fix, keeping the cause. */
export function wrapError(
  code: ErrorCode,
  err: unknown,
  fix: string,
  location: ErrorLocation = {},
): CtxrecError {
  if (err instanceof CtxrecError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CtxrecError(code, `${message} (${fix})`, location, { cause: err });
}

/** Throws CTXREC_ERR_ARG unless `condition` holds. */
export function requireArg(condition: boolean, param: string, reason: string): asserts condition {
  if (!condition) throw new CtxrecError("CTXREC_ERR_ARG", reason, { param });
}

/** Throws CTXREC_ERR_ARG naming `param` unless `value` is one of `choices`. */
export function requireChoice(value: unknown, choices: readonly string[], param: string): void {
  requireArg(
    typeof value === "string" && choices.includes(value),
    param,
    `expected one of ${choices.join(", ")}, got ${String(value)}`,
  );
}

/** Throws CTXREC_ERR_NUMERIC if any value is NaN or infinite, naming the first bad index. */
export function requireFinite(values: ArrayLike<number>, param: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new CtxrecError("CTXREC_ERR_NUMERIC", `value ${values[i]} at index ${i} is not finite`, {
        param,
      });
    }
  }
}
