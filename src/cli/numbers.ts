/** Parsing of numeric command-line values, naming the option when the text is not a number. */
import { CtxrecError } from "../core/errors.ts";

/** `text` as a number; CTXREC_ERR_ARG naming `name` when it is not one. */
export function toNumber(text: string, name: string): number {
  const value = Number(text);
  if (text.trim() === "" || Number.isNaN(value)) {
    throw new CtxrecError("CTXREC_ERR_ARG", `'${text}' is not a number`, { param: name });
  }
  return value;
}

/** `toNumber` for an option that may be absent. */
export function toOptionalNumber(text: string | undefined, name: string): number | undefined {
  return text === undefined ? undefined : toNumber(text, name);
}

/** `text` as an integer in [min, max]; CTXREC_ERR_ARG naming `name` otherwise. */
export function intOption(text: string, name: string, min: number, max: number): number {
  const v = toNumber(text, name);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new CtxrecError("CTXREC_ERR_ARG", `expected an integer in [${min}, ${max}], got ${text}`, {
      param: name,
    });
  }
  return v;
}

/** Thousands-separated integer for tables and summaries. */
export const formatCount = (n: number): string => n.toLocaleString("en-US");
