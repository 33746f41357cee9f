/**
 * Checks of the runtime's inputs before they reach onnxruntime: lengths against the declared
 * shapes (CTXREC_ERR_SHAPE), NaN/∞ in float inputs (CTXREC_ERR_NUMERIC), codes outside a table
 * (CTXREC_ERR_ARG), each naming the field. ORT would otherwise fail deep inside a kernel with a
 * message that names neither the field nor the fix, or (Gather on some builds) read out of range.
 * Shapes: B rows, Lb padded length, k context slots, d width.
 */
import { CtxrecError, requireArg } from "../core/errors.ts";
import { assertLength } from "../core/shapes.ts";

/** Throws CTXREC_ERR_ARG unless `n` is an integer in [min, max]. */
export function requireInt(n: number, min: number, max: number, field: string): void {
  requireArg(
    Number.isInteger(n) && n >= min && n <= max,
    field,
    `expected an integer in [${min}, ${max}], got ${n}`,
  );
}

/** Throws CTXREC_ERR_SHAPE unless `values` has `length` entries. */
export function requireLength(values: { length: number } | undefined, length: number, field: string): void {
  if (values === undefined)
    throw new CtxrecError("CTXREC_ERR_SHAPE", `missing; expected ${length} values`, { param: field });
  assertLength(values, length, field);
}

/** Throws CTXREC_ERR_NUMERIC at the first NaN or infinite value, naming the field and the index. */
export function requireFiniteValues(values: Float32Array, field: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new CtxrecError(
        "CTXREC_ERR_NUMERIC",
        `value ${values[i]} at index ${i} is not finite; pass finite numbers`,
        { param: field },
      );
    }
  }
}

/** Throws CTXREC_ERR_ARG at the first code outside [0, size). */
export function requireCodes(codes: Int32Array, size: number, field: string): void {
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c < 0 || c >= size) {
      throw new CtxrecError(
        "CTXREC_ERR_ARG",
        `code ${c} at index ${i} is outside the model's vocabulary [0, ${size}); map ids with the model's vocab.json`,
        { param: field },
      );
    }
  }
}

/** An [R] array right-padded per row from width `from` to width `to` (zeros), R = rows. */
export function padRows(a: Int32Array, rows: number, from: number, to: number): Int32Array {
  if (from === to) return a;
  const out = new Int32Array(rows * to);
  for (let r = 0; r < rows; r++) out.set(a.subarray(r * from, (r + 1) * from), r * to);
  return out;
}
