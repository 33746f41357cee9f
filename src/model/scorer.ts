/**
 * The model behind the eval scorer contract (`src/eval/scorer.ts`, `EmbeddingScorer`): item
 * embeddings from the item tower over the whole catalogue, user embeddings from the last L events
 * of each history (the last hidden state) fused with the request context. A `loo` batch carries no
 * context, so every row is scored with `present = 0` (the "no context" path): pseudo-context is a
 * training-time device and cannot reach evaluation. A batch WITH a context (the `stale-context`
 * protocol: the subject item's categories) is turned into the model's input by a `ContextEncoder`
 * (the trainer's top-k rule, handed in by the caller: the model cannot import src/train); rows
 * with an empty context range take the same "no context" path. Inference only: no dropout.
 * Shapes: B users, Lb ≤ L, d width, N items, k context slots.
 */
import * as tf from "@tensorflow/tfjs-core";
import { CtxrecError } from "../core/errors.ts";
import { assertLength } from "../core/shapes.ts";
import { selectRows } from "../engine/sparseEmbedding.ts";
import type { CategoryContext, EmbeddingScorer, HistoryBatch } from "../eval/scorer.ts";
import type { ContextInput } from "./contextLayer.ts";
import { allItemEmbeddings } from "./itemTower.ts";
import { type CtxrecModel, itemReps, type RowContext, subjectVectors, userStates } from "./model.ts";
import { sequenceBatch } from "./sequences.ts";

/** A context input with no context for any of `P` rows (k = 1, empty slot). */
export function noContext(P: number): RowContext["input"] {
  return { k: 1, catIds: new Int32Array(P), weights: new Float32Array(P), present: new Uint8Array(P) };
}

/**
 * Turns a batch's request context (CSR, B rows, every category of each subject item) into the
 * model's context input `[B, k]`: top-k categories by confidence, weights normalised, `present = 0`
 * for an empty row. It must be the rule the model was trained with: `trainedContextEncoder(k)` of
 * src/train/contextEncoder.ts, with the k of the model's training args.
 */
export type ContextEncoder = (ctx: CategoryContext, B: number) => ContextInput;

/** Options of `createModelScorer` / `embedHistories`. */
export interface ModelScorerArgs {
  /**
   * How a batch's `context` becomes the model's input. Required to score a batch that carries a
   * context with a contextual model (a context is never dropped silently); unused by the baseline
   * (no context layer) and by batches without context. Default: none.
   */
  context?: ContextEncoder;
}

/** Rows per encoder call inside one scoring batch. */
const CHUNK = 64;

/**
 * User embeddings [B, d] of a batch of histories (last L events each) with the batch's context if
 * it has one (see `ModelScorerArgs.context`). Rows are encoded in chunks of similar length
 * (dynamic padding, as in training): a batch in user order mixes 5-event and 200-event users, and
 * padding all to L would cost ≈5× on Beauty.
 */
export function embedHistories(
  m: CtxrecModel,
  batch: HistoryBatch,
  args: ModelScorerArgs = {},
): Float32Array {
  const B = batch.size;
  const d = m.config.encoder.dim;
  const ctx = batchContext(m, batch, args);
  const order = Int32Array.from({ length: B }, (_, b) => b).sort(
    (x, y) => historyLength(batch, x) - historyLength(batch, y) || x - y,
  );
  const out = new Float32Array(B * d);
  for (let a = 0; a < B; a += CHUNK) {
    const rows = order.subarray(a, Math.min(B, a + CHUNK));
    const u = embedRows(m, batch, rows, ctx);
    rows.forEach((b, j) => {
      out.set(u.subarray(j * d, (j + 1) * d), b * d);
    });
  }
  return out;
}

function historyLength(batch: HistoryBatch, b: number): number {
  return batch.historyOffsets[b + 1] - batch.historyOffsets[b];
}

/**
 * The model's context input [B, k] of a batch, or undefined when every row takes the "no context"
 * path (no context in the batch, or a model without a context layer, which has nowhere to put one).
 */
function batchContext(m: CtxrecModel, batch: HistoryBatch, args: ModelScorerArgs): ContextInput | undefined {
  if (batch.context === undefined || m.context === undefined) return undefined;
  if (args.context === undefined) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      "the batch carries a context but the model scorer has no context encoder; create it with " +
        "createModelScorer(m, name, { context }) (the trainer's top-k rule and k)",
      { param: "context" },
    );
  }
  const B = batch.size;
  assertLength(batch.context.offsets, B + 1, "context offsets [B + 1]");
  const input = args.context(batch.context, B);
  if (m.context.args.subjectItem && input.subjects === undefined) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      "the model reads the subject item's id as context (trained with --subject-item) but the batch's context names no subject items",
      { param: "context.items" },
    );
  }
  assertLength(input.present, B, "encoded context present [B]");
  assertLength(input.catIds, B * input.k, "encoded context catIds [B, k]");
  assertLength(input.weights, B * input.k, "encoded context weights [B, k]");
  return input;
}

/**
 * The context of every slot [R·Lb, k] of a chunk: batch row `rows[j]`'s context at the LAST real
 * slot of chunk row j (the only slot whose embedding is read), "no context" everywhere else.
 * Without a batch context, every slot has none (k = 1).
 */
function slotContext(
  ctx: ContextInput | undefined,
  rows: Int32Array,
  last: Int32Array,
  P: number,
): ContextInput {
  if (ctx === undefined) return noContext(P);
  const k = ctx.k;
  const out: ContextInput = {
    k,
    catIds: new Int32Array(P * k),
    weights: new Float32Array(P * k),
    present: new Uint8Array(P),
  };
  const subjects = ctx.subjects;
  if (subjects !== undefined) out.subjects = new Int32Array(P);
  for (let j = 0; j < rows.length; j++) {
    const b = rows[j];
    const slot = last[j];
    if (subjects !== undefined && out.subjects !== undefined) out.subjects[slot] = subjects[b];
    out.present[slot] = ctx.present[b];
    out.catIds.set(ctx.catIds.subarray(b * k, (b + 1) * k), slot * k);
    out.weights.set(ctx.weights.subarray(b * k, (b + 1) * k), slot * k);
  }
  return out;
}

/** User embeddings [R, d] of the batch rows `rows` [R]; `ctx` [B, k] is the batch's context input. */
function embedRows(
  m: CtxrecModel,
  batch: HistoryBatch,
  rows: Int32Array,
  ctx: ContextInput | undefined,
): Float32Array {
  const L = m.config.encoder.maxLen;
  const B = rows.length;
  const starts = new Int32Array(B);
  const ends = new Int32Array(B);
  const firsts = new Int32Array(B);
  for (let j = 0; j < B; j++) {
    const b = rows[j];
    firsts[j] = batch.historyOffsets[b];
    ends[j] = batch.historyOffsets[b + 1];
    starts[j] = Math.max(firsts[j], ends[j] - L);
  }
  const seq = sequenceBatch(batch, starts, ends, firsts, L);
  const P = B * seq.len;
  const sel = selectRows(seq.items, m.item.ids.rows, "history items");
  // The last real slot of each row; an empty history reads slot 0 (padding only: a defined, finite vector).
  const last = Int32Array.from(seq.lengths, (n, j) => j * seq.len + Math.max(0, n - 1));
  const demographics: Record<string, Int32Array> = {};
  for (const [field, codes] of Object.entries(batch.demographics)) {
    demographics[field] = Int32Array.from({ length: P }, (_, i) => codes[rows[Math.floor(i / seq.len)]]);
  }
  return tf.tidy(() => {
    const reps = itemReps(m, sel.rows, m.item.ids.gatherRows(sel.rows));
    const input = slotContext(ctx, rows, last, P);
    const rowContext: RowContext = { input, demographics };
    if (m.context?.args.subjectItem === true && input.subjects !== undefined) {
      const subjects = selectRows(input.subjects, m.item.ids.rows, "subject items");
      const subjectReps = itemReps(m, subjects.rows, m.item.ids.gatherRows(subjects.rows));
      rowContext.subjectVectors = subjectVectors(subjectReps, subjects.local, input.subjects);
    }
    const u = userStates(m, seq, reps, sel.local, rowContext, undefined);
    return tf.gather(u, tf.tensor1d(last, "int32")).dataSync() as Float32Array;
  });
}

/** The model as an `EmbeddingScorer` for `evaluateLoo` and `evaluateStaleContext`. */
export function createModelScorer(m: CtxrecModel, name: string, args: ModelScorerArgs = {}): EmbeddingScorer {
  let items: Float32Array | undefined;
  return {
    kind: "embedding",
    name,
    dim: m.config.encoder.dim,
    itemEmbeddings: () => {
      items ??= allItemEmbeddings(m.item, m.features);
      return items;
    },
    userEmbeddings: async (batch) => embedHistories(m, batch, args),
  };
}
