/**
 * Shape glossary used in every doc comment: B batch, L history length, d width, C categories,
 * K candidates, N items, U users. Helpers here assert shapes at module edges with a message
 * that says what was expected and what was received.
 */
import { CtxrecError } from "./errors.ts";

/** A shape with named dimensions; `-1` (or a string name) accepts any size. */
export type ShapeSpec = ReadonlyArray<number | string>;

/** Throws CTXREC_ERR_SHAPE unless `actual` matches `expected` (named dims must be consistent). */
export function assertShape(actual: readonly number[], expected: ShapeSpec, what: string): void {
  const bound = new Map<string, number>();
  let ok = actual.length === expected.length;
  for (let i = 0; ok && i < expected.length; i++) {
    const e = expected[i];
    if (typeof e === "number") ok = e === -1 || e === actual[i];
    else {
      const prev = bound.get(e);
      if (prev === undefined) bound.set(e, actual[i]);
      else ok = prev === actual[i];
    }
  }
  if (!ok) {
    throw new CtxrecError(
      "CTXREC_ERR_SHAPE",
      `expected shape [${expected.join(", ")}], received [${actual.join(", ")}]`,
      { param: what },
    );
  }
}

/** Throws CTXREC_ERR_SHAPE unless an array has exactly `length` elements. */
export function assertLength(values: { length: number }, length: number, what: string): void {
  if (values.length !== length) {
    throw new CtxrecError("CTXREC_ERR_SHAPE", `expected length ${length}, received ${values.length}`, {
      param: what,
    });
  }
}
