/**
 * The trainer's context rule applied to an evaluation or serving request: a batch's request context
 * (`CategoryContext`, CSR: every category of each subject item with its confidence) becomes the
 * model's context input `[B, k]` by EXACTLY the rule pseudo-context and `contextFromItems` use
 * (top-k by confidence, ties in file order, weights normalised, empty row ⇒ present = 0), with the
 * k the model was trained with. It lives here, not in src/model, because the rule is the
 * trainer's and imports flow train → model; callers hand it to `createModelScorer`.
 *
 * Glossary: B rows (users of a batch), C categories of the batch, k slots.
 */
import type { CategoryContext } from "../eval/scorer.ts";
import type { ContextEncoder } from "../model/scorer.ts";
import { type ContextBatch, contextFromItems } from "./context.ts";

/**
 * The model's context input of B rows: row b is the top-k of `ctx.categories[offsets[b] ..
 * offsets[b+1]-1]`. Each row is treated as one "item" of the CSR (row index = item code), so the
 * top-k and the normalisation are `contextFromItems` itself, not a copy of it.
 *
 * @param ctx CSR context: offsets [B + 1], categories and confidences [C]
 * @param B rows
 * @param k slots per row (the trained model's pseudo-context k)
 * @returns catIds/weights [B, k] and present [B]
 */
export function contextFromCategories(ctx: CategoryContext, B: number, k: number): ContextBatch {
  const rows = Int32Array.from({ length: B }, (_, b) => b);
  const out = contextFromItems(
    rows,
    { catOffsets: ctx.offsets, catIds: ctx.categories, catConf: ctx.confidences },
    k,
  );
  return ctx.items === undefined ? out : { ...out, subjects: ctx.items };
}

/** A `ContextEncoder` for `createModelScorer` with the trainer's rule and `k` slots. */
export function trainedContextEncoder(k: number): ContextEncoder {
  return (ctx, B) => contextFromCategories(ctx, B, k);
}
