/**
 * The contextual sequential two-tower model: item tower, sequence encoder, context layer, fusion,
 * composed in one place. The non-contextual baseline is the same model with
 * `config.context.enabled = false` (no context layer is built and the fusion head sees h alone).
 * Shapes: B batch, Lb padded length, P = B·Lb rows, U unique items, d width.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Rng } from "../core/rng.ts";
import { assertShape } from "../core/shapes.ts";
import type { ModelConfig, VocabSizes } from "./config.ts";
import {
  type ContextInput,
  type ContextLayerParams,
  contextLayer,
  contextLayerVariables,
  initContextLayer,
} from "./contextLayer.ts";
import { type EncoderParams, encoderVariables, encodeSequence, initEncoder } from "./encoder.ts";
import { type FusionParams, fuse, fusionVariables, initFusion } from "./fusion.ts";
import type { ItemFeatures } from "./itemFeatures.ts";
import { type ItemTowerParams, initItemTower, itemTower, itemTowerVariables } from "./itemTower.ts";
import { l2Normalize, stopGradient } from "./layers.ts";
import type { RowDropout } from "./rowDropout.ts";
import type { SequenceBatch } from "./sequences.ts";

/**
 * tfjs keeps ONE process-wide registry of variable names and refuses a duplicate, so two models in
 * one process (baseline and contextual side by side, a loaded artifact beside a trained model)
 * need distinct names: each instance gets a numbered prefix. The artifact stores names without it.
 */
let nextInstance = 0;

export interface CtxrecModel {
  config: ModelConfig;
  sizes: VocabSizes;
  features: ItemFeatures;
  item: ItemTowerParams;
  encoder: EncoderParams;
  /** Absent in the baseline. */
  context?: ContextLayerParams;
  fusion: FusionParams;
  /** Prefix of this instance's variable names (tfjs registers variable names process-wide). */
  prefix: string;
}

/** A fresh model with seeded weights (same seed ⇒ same weights). */
export function createModel(
  config: ModelConfig,
  sizes: VocabSizes,
  features: ItemFeatures,
  rng: Rng,
): CtxrecModel {
  const d = config.encoder.dim;
  const prefix = `ctxrec${nextInstance++}/`;
  // Each component draws from its own fork, so turning one on or off leaves the others' init unchanged.
  // The tables' initial scale is the encoder's choice: it sets how items weigh against positions.
  const item = initItemTower(
    config.itemTower,
    sizes.items,
    sizes.categories,
    d,
    rng.fork(),
    prefix,
    config.encoder.init,
    config.tower,
  );
  const encoder = initEncoder(config.encoder, sizes, rng.fork(), prefix);
  const ctxRng = rng.fork();
  const context = config.context.enabled
    ? initContextLayer(config.context, sizes, d, ctxRng, prefix)
    : undefined;
  const fusion = initFusion(
    config.fusion,
    d,
    context ? config.context.dim : 0,
    rng.fork(),
    prefix,
    config.tower,
  );
  return { config, sizes, features, item, encoder, context, fusion, prefix };
}

/** Dense variables (everything but the sparse id table), in a stable order. */
export function modelVariables(m: CtxrecModel): tf.Variable[] {
  return [
    ...itemTowerVariables(m.item),
    ...encoderVariables(m.encoder),
    ...(m.context ? contextLayerVariables(m.context) : []),
    ...fusionVariables(m.fusion),
  ];
}

/** Host copies of the dense weights, one per variable of `modelVariables` in its order. */
export function denseWeights(m: CtxrecModel): Float32Array[] {
  return modelVariables(m).map((v) => Float32Array.from(v.dataSync() as Float32Array));
}

/** Sets the dense weights from host values in `modelVariables` order (as `denseWeights` gives). */
export function assignDenseWeights(m: CtxrecModel, values: Float32Array[]): void {
  const vars = modelVariables(m);
  if (values.length !== vars.length) {
    throw new Error(`assignDenseWeights: ${values.length} arrays for ${vars.length} variables`);
  }
  vars.forEach((v, i) => {
    tf.tidy(() => v.assign(tf.tensor(values[i], v.shape)));
  });
}

export function disposeModel(m: CtxrecModel): void {
  for (const v of modelVariables(m)) v.dispose();
}

/** The context of every row of a batch: categories [P, k] and demographic codes [P] per field. */
export interface RowContext {
  input: ContextInput;
  demographics: Record<string, Int32Array>;
  /** [P, d] item-tower vector of each row's subject item (`subjectVectors`); `subjectItem` models only. */
  subjectVectors?: tf.Tensor2D;
}

/**
 * Item-tower vectors [P, d] of the rows' subject items: `reps` [U, d] of the step's unique items,
 * `local` [P] the index into them of each row's subject (any valid index where there is none),
 * `subjects` [P] the subject's item code, 0 = none (a zero row).
 */
export function subjectVectors(reps: tf.Tensor2D, local: Int32Array, subjects: Int32Array): tf.Tensor2D {
  assertShape([local.length], [subjects.length], "subjectVectors local [P]");
  const has = Float32Array.from(subjects, (i) => (i > 0 ? 1 : 0));
  const rows = tf.gather(reps, tf.tensor1d(local, "int32")) as tf.Tensor2D;
  return tf.mul(rows, tf.tensor2d(has, [subjects.length, 1])) as tf.Tensor2D;
}

/**
 * Sequence states [B, Lb, d] of a batch (the cached part): `unique` [U] item codes with their
 * representations `reps` [U, d], `local` [B·Lb] the index into `unique` of each slot (padding: any
 * valid index). `drop` undefined = inference (no dropout).
 */
export function sequenceStates(
  m: CtxrecModel,
  seq: SequenceBatch,
  reps: tf.Tensor2D,
  local: Int32Array,
  drop: RowDropout | undefined,
): tf.Tensor3D {
  assertShape([local.length], [seq.B * seq.len], "sequenceStates local [B·Lb]");
  const hist = tf.gather(reps, tf.tensor1d(local, "int32")) as tf.Tensor2D;
  return encodeSequence(m.encoder, seq, hist, drop);
}

/**
 * User embeddings [B·Lb, d] from sequence states `h` [B, Lb, d] and the context of every slot (the
 * online part). `ctx` is required when the model has a context layer (rows with no context:
 * present = 0). Split from `sequenceStates` so that training can fuse one encoding with two
 * contexts (with and without) at the cost of the head only. `frozenShared`: see `fuse`.
 */
export function fuseStates(
  m: CtxrecModel,
  h: tf.Tensor3D,
  ctx: RowContext | undefined,
  drop: RowDropout | undefined,
  frozenShared = false,
): tf.Tensor2D {
  let c: tf.Tensor2D | undefined;
  if (m.context !== undefined) {
    if (ctx === undefined)
      throw new Error("fuseStates: the model has a context layer but no context was given");
    // The subject's vector comes from the item tower, which the no-context path shares: frozen too.
    const subjects =
      frozenShared && ctx.subjectVectors !== undefined
        ? stopGradient(ctx.subjectVectors)
        : ctx.subjectVectors;
    c = contextLayer(m.context, ctx.input, ctx.demographics, drop, subjects);
  }
  const u = fuse(m.fusion, h, c, frozenShared);
  return m.config.itemTower.l2Normalize ? l2Normalize(u) : u;
}

/** User embeddings for every slot of a batch [B·Lb, d]: `sequenceStates` then `fuseStates`. */
export function userStates(
  m: CtxrecModel,
  seq: SequenceBatch,
  reps: tf.Tensor2D,
  local: Int32Array,
  ctx: RowContext | undefined,
  drop: RowDropout | undefined,
): tf.Tensor2D {
  return fuseStates(m, sequenceStates(m, seq, reps, local, drop), ctx, drop);
}

/** Item representations [U, d] of `unique` item codes given their id rows [U, d]. */
export function itemReps(m: CtxrecModel, unique: Int32Array, idRows: tf.Tensor2D): tf.Tensor2D {
  return itemTower(m.item, m.features, unique, idRows);
}
