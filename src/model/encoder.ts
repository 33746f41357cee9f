/**
 * Sequence encoder (DESIGN §2, the cached offline part): the item representations of the last L
 * events + learned positions (anchored at the first or at the latest event, `EncoderArgs.positions`)
 * (+ event-type and time-gap-bucket embeddings where the data has them)
 * → N pre-norm Transformer blocks with a causal mask → final layer norm → one hidden state per
 * position. Sequences are RIGHT-padded: position t sees positions ≤ t only, so a real position
 * never sees padding and no key mask is needed; padding rows are zeroed at the input and their
 * outputs are never read. Shapes: B batch, Lb ≤ L padded length of the batch, d width.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Rng } from "../core/rng.ts";
import { assertShape } from "../core/shapes.ts";
import { type BlockParams, blockVariables, initBlockParams, layerNorm } from "../engine/blocks.ts";
import { constVariable } from "../engine/params.ts";
import { type EncoderArgs, embeddingInitStd, type VocabSizes } from "./config.ts";
import { causalBlock, normalVariable } from "./layers.ts";
import { dropout, type RowDropout } from "./rowDropout.ts";

/** Number of time-gap buckets: 0 padding, 1 no previous event, 2.. log₂(1 + gap seconds). */
export const GAP_BUCKETS = 32;

/** Bucket of a gap in seconds (negative or NaN gaps count as 0 s). */
export function gapBucket(gapSeconds: number): number {
  // Not Math.max: it keeps NaN, and a NaN gap must fall into the 0 s bucket.
  const g = Number.isNaN(gapSeconds) ? 0 : Math.max(gapSeconds, 0);
  return 2 + Math.min(GAP_BUCKETS - 3, Math.floor(Math.log2(1 + g)));
}

export interface EncoderParams {
  args: EncoderArgs;
  /** [L, d] */
  positions: tf.Variable<tf.Rank.R2>;
  /** [T, d] event types, when the data has more than one. */
  types?: tf.Variable<tf.Rank.R2>;
  /** [GAP_BUCKETS, d] time gaps, when the data has real timestamps. */
  gaps?: tf.Variable<tf.Rank.R2>;
  blocks: BlockParams[];
  lnGamma: tf.Variable<tf.Rank.R1>;
  lnBeta: tf.Variable<tf.Rank.R1>;
}

export function initEncoder(args: EncoderArgs, sizes: VocabSizes, rng: Rng, prefix: string): EncoderParams {
  const d = args.dim;
  const std = (rows: number) => embeddingInitStd(args.init, rows, d, 0.02);
  const p: EncoderParams = {
    args,
    positions: normalVariable(args.maxLen, d, std(args.maxLen), rng.fork(), `${prefix}encoder/positions`),
    blocks: Array.from({ length: args.blocks }, (_, i) =>
      initBlockParams(d, args.ffn, rng.fork(), `${prefix}encoder/block${i}`),
    ),
    lnGamma: constVariable(d, 1, `${prefix}encoder/ln/gamma`),
    lnBeta: constVariable(d, 0, `${prefix}encoder/ln/beta`),
  };
  // Types: 0 padding, 1 no type; a data set with only code 1 has nothing to learn.
  if (args.eventTypes && sizes.types > 2)
    p.types = normalVariable(sizes.types, d, std(sizes.types), rng.fork(), `${prefix}encoder/types`);
  if (args.timeGaps && sizes.hasTimeGaps)
    p.gaps = normalVariable(GAP_BUCKETS, d, std(GAP_BUCKETS), rng.fork(), `${prefix}encoder/gaps`);
  return p;
}

export function encoderVariables(p: EncoderParams): tf.Variable[] {
  return [
    p.positions,
    ...(p.types ? [p.types] : []),
    ...(p.gaps ? [p.gaps] : []),
    ...p.blocks.flatMap(blockVariables),
    p.lnGamma,
    p.lnBeta,
  ];
}

/** A right-padded batch of histories as the encoder reads it. */
export interface SequenceInput {
  B: number;
  /** Lb, the padded length (≤ L). */
  len: number;
  /** [B·Lb] 1 for a real event, 0 for padding. */
  mask: Float32Array;
  /** [B·Lb] event-type codes (0 padding). */
  types: Int32Array;
  /** [B·Lb] time-gap buckets (0 padding). */
  gaps: Int32Array;
}

/**
 * Position index of every slot [B·Lb] under the "end" anchor: a row of n events takes L − n … L − 1
 * (its latest event L − 1); padding slots take L − 1 too (they are zeroed and never attended to).
 */
export function endAnchoredPositions(mask: Float32Array, B: number, len: number, maxLen: number): Int32Array {
  assertShape([mask.length], [B * len], "endAnchoredPositions mask [B·Lb]");
  const out = new Int32Array(B * len);
  for (let b = 0; b < B; b++) {
    let n = 0;
    while (n < len && mask[b * len + n] > 0) n++;
    for (let t = 0; t < len; t++) out[b * len + t] = Math.min(maxLen - n + t, maxLen - 1);
  }
  return out;
}

/** Position embeddings [B, Lb, d] (or [Lb, d], broadcast over rows, under the "start" anchor). */
function positionTerms(p: EncoderParams, input: SequenceInput): tf.Tensor {
  const { B, len } = input;
  const d = p.args.dim;
  if (p.args.positions === "start") return tf.slice(p.positions, [0, 0], [len, d]);
  const idx = endAnchoredPositions(input.mask, B, len, p.args.maxLen);
  return tf.reshape(tf.gather(p.positions, tf.tensor1d(idx, "int32")), [B, len, d]);
}

/**
 * Hidden states [B, Lb, d] from the item representations of the batch's events `items` [B·Lb, d]
 * (rows of padding may hold anything: they are zeroed). `drop` undefined = inference (no dropout).
 */
export function encodeSequence(
  p: EncoderParams,
  input: SequenceInput,
  items: tf.Tensor2D,
  drop: RowDropout | undefined,
): tf.Tensor3D {
  const { B, len } = input;
  const d = p.args.dim;
  assertShape(items.shape, [B * len, d], "encodeSequence items [B·Lb, d]");
  assertShape([len], [-1], "len");
  const mask = tf.tensor2d(input.mask, [B * len, 1]);
  // SASRec scales item embeddings by √d so they are not drowned by the positional terms.
  let x: tf.Tensor = tf.mul(items, Math.sqrt(d));
  if (p.types !== undefined) x = tf.add(x, tf.gather(p.types, tf.tensor1d(input.types, "int32")));
  if (p.gaps !== undefined) x = tf.add(x, tf.gather(p.gaps, tf.tensor1d(input.gaps, "int32")));
  x = tf.mul(x, mask);
  let h = tf.add(tf.reshape(x, [B, len, d]), positionTerms(p, input)) as tf.Tensor3D;
  h = tf.mul(dropout(h, p.args.dropout, drop), tf.reshape(mask, [B, len, 1])) as tf.Tensor3D;
  for (const blk of p.blocks) h = causalBlock(h, blk, p.args, drop);
  return layerNorm(h, p.lnGamma, p.lnBeta) as tf.Tensor3D;
}
