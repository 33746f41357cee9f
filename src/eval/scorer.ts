/**
 * The scorer contract: what a retrieval model must provide to be judged by `src/eval`, whatever it
 * is built with. Two shapes fit it:
 *
 * - `EmbeddingScorer`: a two-tower model. It gives the item table `[N, d]` once and a user
 *   embedding `[B, d]` per batch of histories; the protocol scores every item by exact dot product.
 * - `DirectScorer`: a model that scores all items itself (`scoreAll` → `[B, N]`), e.g. the
 *   popularity and co-occurrence references, whose "embeddings" would be N wide.
 *
 * Glossary (src/core/shapes.ts): B users in a batch, d width, N = `itemVocab.size` (the real items
 * plus the padding row 0; column 0 of any score matrix is never ranked), H = total history events
 * of a batch, C = total context categories of a batch.
 *
 * Leakage by construction: the protocols build `HistoryBatch`es themselves (`history.ts`) as
 * COPIES of the events strictly before each target, so a scorer cannot reach the target through a
 * batch. `loo` builds batches with no `context` at all (its type says `context?: undefined`): a
 * context derived from the target cannot be passed, because there is no way to pass one.
 */
import { CtxrecError } from "../core/errors.ts";
import type { DemographicField } from "../data/schema.ts";

/**
 * A request context for a batch: each user's subject-item interest categories with confidences
 * (DESIGN §2, context layer), in CSR form. A user with an empty range has no context.
 */
export interface CategoryContext {
  kind: "categories";
  /** [B + 1] CSR offsets: the context of batch row b is `categories[offsets[b] .. offsets[b+1]-1]`. */
  offsets: Int32Array;
  /** [C] category codes (in the data set's `categoryVocab`). */
  categories: Int32Array;
  /** [C] confidence in (0, 1] of each category. */
  confidences: Float32Array;
  /** [B] item code of each row's subject item, 0 = none (a query); read by `subjectItem` models. */
  items?: Int32Array;
}

/** Per-user inputs of one batch. All arrays are copies owned by the batch. */
export interface HistoryBatch {
  /** B, the number of users in the batch. */
  size: number;
  /** [B] user codes (`userVocab`), for scorers that key cached state by user. */
  users: Int32Array;
  /** [B + 1] CSR offsets: user b's history is positions `historyOffsets[b] .. historyOffsets[b+1]-1`. */
  historyOffsets: Int32Array;
  /** [H] item codes of the histories, each in time order (oldest first, most recent last). */
  items: Int32Array;
  /** [H] event-type codes (`typeVocab`; 1 = event without a type). */
  types: Int32Array;
  /** [H] Unix seconds (S3-Rec data: synthetic positions). */
  timestamps: Float64Array;
  /** [B] demographic codes per field (0 padding, 1 missing). */
  demographics: Record<DemographicField, Int32Array>;
  /** The request context, only in protocols that have one; absent in `loo`. */
  context?: CategoryContext;
}

/** A two-tower model: exact dot-product scores `s[b, i] = user[b] · item[i]`. */
export interface EmbeddingScorer {
  kind: "embedding";
  /** Model name for reports (e.g. "ctxrec-baseline@3f2a…"). */
  name: string;
  /** d, the embedding width. */
  dim: number;
  /** [N, d] row-major item embeddings; row 0 (padding) is never ranked. Called once per evaluation. */
  itemEmbeddings(): Float32Array | Promise<Float32Array>;
  /** [B, d] row-major user embeddings of a batch of histories. */
  userEmbeddings(batch: HistoryBatch): Promise<Float32Array>;
}

/** A model that scores every item itself. */
export interface DirectScorer {
  kind: "direct";
  name: string;
  /** [B, N] row-major scores; higher is better; column 0 (padding) is ignored. Must be finite. */
  scoreAll(batch: HistoryBatch): Promise<Float32Array>;
}

/** Anything `evaluateLoo` can judge. */
export type RetrievalScorer = EmbeddingScorer | DirectScorer;

/** Throws CTXREC_ERR_SHAPE unless a scorer's output has exactly `rows × cols` values. */
export function checkScorerOutput(
  values: ArrayLike<number>,
  rows: number,
  cols: number,
  what: string,
  scorer: string,
): void {
  if (values.length !== rows * cols) {
    throw new CtxrecError(
      "CTXREC_ERR_SHAPE",
      `scorer "${scorer}" returned ${values.length} values, expected [${rows}, ${cols}] = ${rows * cols}; ` +
        "return a row-major Float32Array of that shape",
      { param: what },
    );
  }
}
