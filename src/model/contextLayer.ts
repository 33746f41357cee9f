/**
 * Context layer (DESIGN §2, the online part): the subject item's top-k interest categories ×
 * normalised weights, projected (weighted mean by default; sum, attention or a learned projection
 * as options), concatenated with demographic embeddings (each field has its own "missing" code,
 * vocabulary code 1) and, with `subjectItem`, the subject item's own item-tower vector → Dense +
 * ReLU → high dropout in training → [P, dc].
 * A row with no context (`present = 0`: whole-context dropout in training, every `loo` request)
 * gets a learned "no context" vector in place of the category term.
 * Shapes: P rows (positions or requests), k slots, C categories, d width, dc output width.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Rng } from "../core/rng.ts";
import { assertLength, assertShape } from "../core/shapes.ts";
import type { ContextLayerArgs, VocabSizes } from "./config.ts";
import { type DenseParams, dense, initDense, normalVariable } from "./layers.ts";
import { dropout, type RowDropout } from "./rowDropout.ts";

/**
 * The context of P rows. Structurally the `ContextBatch` of src/train/context.ts (which the model
 * cannot import: imports flow train → model), so either can be passed.
 */
export interface ContextInput {
  k: number;
  /** [P, k] category codes, 0 = empty slot. */
  catIds: Int32Array;
  /** [P, k] weights summing to 1 over non-empty slots. */
  weights: Float32Array;
  /** [P] 0 = no context for this row. */
  present: Uint8Array;
  /**
   * [P] item code of each row's subject item, 0 = none (read by models with `subjectItem` only:
   * the caller turns it into the rows' item vectors, see `contextLayer`).
   */
  subjects?: Int32Array;
}

export interface ContextLayerParams {
  args: ContextLayerArgs;
  /** [C, d] context category embeddings. */
  categories: tf.Variable<tf.Rank.R2>;
  /** [1, d] stands in for the category term when a row has no context. */
  absent: tf.Variable<tf.Rank.R2>;
  /** [d] attention query (projection "attention"). */
  query?: tf.Variable<tf.Rank.R2>;
  /** d → d (projection "learned"). */
  learned?: DenseParams;
  /** Per demographic field, [V_f, dDemo]. */
  demographics: { field: string; table: tf.Variable<tf.Rank.R2> }[];
  out: DenseParams;
}

export function initContextLayer(
  args: ContextLayerArgs,
  sizes: VocabSizes,
  dim: number,
  rng: Rng,
  prefix: string,
): ContextLayerParams {
  const demographics = args.demographics
    ? Object.entries(sizes.demographics)
        // A field where every user is missing (Beauty) only adds a constant: skip it.
        .filter(([, size]) => size > 2)
        .map(([field, size]) => ({
          field,
          table: normalVariable(
            size,
            args.demographicDim,
            0.05,
            rng.fork(),
            `${prefix}context/demo/${field}`,
          ),
        }))
    : [];
  const inDim = dim + demographics.length * args.demographicDim + (args.subjectItem ? dim : 0);
  const p: ContextLayerParams = {
    args,
    categories: normalVariable(
      sizes.categories,
      dim,
      1 / Math.sqrt(dim),
      rng.fork(),
      `${prefix}context/categories`,
    ),
    absent: normalVariable(1, dim, 0.02, rng.fork(), `${prefix}context/absent`),
    demographics,
    out: initDense(inDim, args.dim, rng.fork(), `${prefix}context/out`),
  };
  if (args.projection === "attention")
    p.query = normalVariable(dim, 1, 1 / Math.sqrt(dim), rng.fork(), `${prefix}context/query`);
  if (args.projection === "learned") p.learned = initDense(dim, dim, rng.fork(), `${prefix}context/learned`);
  return p;
}

export function contextLayerVariables(p: ContextLayerParams): tf.Variable[] {
  return [
    p.categories,
    p.absent,
    ...(p.query ? [p.query] : []),
    ...(p.learned ? [p.learned.w, p.learned.b] : []),
    ...p.demographics.map((x) => x.table),
    p.out.w,
    p.out.b,
  ];
}

/** The category term [P, d] of each row under the configured projection. */
function projectCategories(p: ContextLayerParams, ctx: ContextInput, P: number): tf.Tensor2D {
  const d = p.categories.shape[1];
  const { k } = ctx;
  const emb = tf.reshape(tf.gather(p.categories, tf.tensor1d(ctx.catIds, "int32")), [P, k, d]);
  const filled = Float32Array.from(ctx.catIds, (c) => (c > 0 ? 1 : 0));
  switch (p.args.projection) {
    case "sum":
      return tf.sum(tf.mul(emb, tf.tensor3d(filled, [P, k, 1])), 1) as tf.Tensor2D;
    case "attention": {
      // softmax over slots of (emb·q + log w): the weights act as a prior, empty slots get −1e9.
      const logW = Float32Array.from(ctx.weights, (w, j) =>
        filled[j] > 0 ? Math.log(Math.max(w, 1e-6)) : -1e9,
      );
      const q = p.query as tf.Variable<tf.Rank.R2>;
      const s = tf.add(
        tf.reshape(tf.matMul(tf.reshape(emb, [P * k, d]), q), [P, k]),
        tf.tensor2d(logW, [P, k]),
      );
      return tf.sum(tf.mul(emb, tf.reshape(tf.softmax(s), [P, k, 1])), 1) as tf.Tensor2D;
    }
    default: {
      const mean = tf.sum(tf.mul(emb, tf.tensor3d(ctx.weights, [P, k, 1])), 1) as tf.Tensor2D;
      return p.learned !== undefined ? (tf.tanh(dense(mean, p.learned)) as tf.Tensor2D) : mean;
    }
  }
}

/**
 * Context output [P, dc] from the context of P rows and their demographic codes
 * (`demographics[field]` [P], 1 = missing). `drop` undefined = inference (no dropout).
 * `subjectVectors` [P, d]: the item-tower vector of each row's subject item, zero rows where there
 * is none; required by a `subjectItem` layer unless no row has a subject (then all zero).
 */
export function contextLayer(
  p: ContextLayerParams,
  ctx: ContextInput,
  demographics: Record<string, Int32Array>,
  drop: RowDropout | undefined,
  subjectVectors?: tf.Tensor2D,
): tf.Tensor2D {
  const P = ctx.present.length;
  assertLength(ctx.catIds, P * ctx.k, "context catIds [P, k]");
  assertLength(ctx.weights, P * ctx.k, "context weights [P, k]");
  const present = tf.tensor2d(Float32Array.from(ctx.present), [P, 1]);
  const cats = projectCategories(p, ctx, P);
  // present·cats + (1 − present)·absent
  const term = tf.add(tf.mul(cats, present), tf.mul(tf.sub(1, present), p.absent));
  const parts: tf.Tensor[] = [term];
  for (const { field, table } of p.demographics) {
    const codes = demographics[field];
    assertLength(codes, P, `demographics.${field} [P]`);
    parts.push(tf.gather(table, tf.tensor1d(codes, "int32")));
  }
  if (p.args.subjectItem) parts.push(subjectTerm(p, ctx, P, subjectVectors));
  const x = parts.length === 1 ? term : tf.concat(parts, 1);
  return dropout(tf.relu(dense(x, p.out)), p.args.dropout, drop) as tf.Tensor2D;
}

/** The subject-item input [P, d] of a `subjectItem` layer (see `contextLayer`). */
function subjectTerm(
  p: ContextLayerParams,
  ctx: ContextInput,
  P: number,
  subjectVectors: tf.Tensor2D | undefined,
): tf.Tensor2D {
  const d = p.categories.shape[1];
  if (subjectVectors !== undefined) {
    assertShape(subjectVectors.shape, [P, d], "context subjectVectors [P, d]");
    return subjectVectors;
  }
  if (ctx.subjects?.some((i) => i > 0)) {
    throw new Error("contextLayer: rows name subject items but no subject vectors were given");
  }
  return tf.zeros([P, d]);
}
