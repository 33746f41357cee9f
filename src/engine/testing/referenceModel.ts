/**
 * The reference model of issue 3, used by the engine's tests and by `npm run bench:train` (not by
 * the product: the real encoder is built on the engine by the model issue). A SASRec-style encoder:
 * item embeddings (sparse table) + learned positions → N pre-norm Transformer blocks (causal) →
 * final layer norm → last position as the user vector; in-batch softmax against the positives.
 * bench/reference/train_torch.py implements the same model in PyTorch.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Rng } from "../../core/rng.ts";
import { type BlockParams, blockVariables, initBlockParams, layerNorm, transformerBlock } from "../blocks.ts";
import { constVariable } from "../params.ts";
import { SparseEmbeddingTable } from "../sparseEmbedding.ts";

/** Sizes of the reference model and its batches. */
export interface ReferenceConfig {
  vocab: number;
  /** History length L. */
  L: number;
  /** Width d. */
  d: number;
  layers: number;
  heads: number;
  /** Feed-forward width F. */
  ffn: number;
  /** Batch size B. */
  batch: number;
}

/** The reference model of the issue at a given vocabulary and length. */
export function referenceConfig(vocab: number, L = 50): ReferenceConfig {
  return { vocab, L, d: 64, layers: 2, heads: 2, ffn: 256, batch: 256 };
}

export interface ReferenceModel {
  cfg: ReferenceConfig;
  table: SparseEmbeddingTable;
  /** [L, d] */
  positions: tf.Variable<tf.Rank.R2>;
  blocks: BlockParams[];
  lnGamma: tf.Variable<tf.Rank.R1>;
  lnBeta: tf.Variable<tf.Rank.R1>;
  /** Dense variables (all but the table). */
  variables: tf.Variable[];
}

/**
 * A fresh model. `table` reuses an existing item table (e.g. shared memory in a data-parallel
 * worker); the generator is forked for it either way, so the dense weights depend only on `rng`.
 */
export function createReferenceModel(
  cfg: ReferenceConfig,
  rng: Rng,
  name = "ref",
  table?: SparseEmbeddingTable,
): ReferenceModel {
  const tableRng = rng.fork();
  table ??= SparseEmbeddingTable.create({
    rows: cfg.vocab,
    dim: cfg.d,
    rng: tableRng,
    name: `${name}/items`,
  });
  const pos = new Float32Array(cfg.L * cfg.d);
  const prng = rng.fork();
  for (let i = 0; i < pos.length; i++) pos[i] = prng.normal() * 0.02;
  const positions = tf.variable(tf.tensor2d(pos, [cfg.L, cfg.d]), true, `${name}/positions`);
  const blocks = Array.from({ length: cfg.layers }, (_, i) =>
    initBlockParams(cfg.d, cfg.ffn, rng.fork(), `${name}/block${i}`),
  );
  const lnGamma = constVariable(cfg.d, 1, `${name}/ln/gamma`);
  const lnBeta = constVariable(cfg.d, 0, `${name}/ln/beta`);
  const variables = [positions, ...blocks.flatMap(blockVariables), lnGamma, lnBeta];
  return { cfg, table, positions, blocks, lnGamma, lnBeta, variables };
}

/** Frees the model's dense variables. */
export function disposeReferenceModel(m: ReferenceModel): void {
  for (const v of m.variables) v.dispose();
}

/** A random batch: history ids [B·L] and positive ids [B], uniform over the vocabulary. */
export function randomBatch(cfg: ReferenceConfig, rng: Rng): { history: Int32Array; positives: Int32Array } {
  const history = new Int32Array(cfg.batch * cfg.L);
  for (let i = 0; i < history.length; i++) history[i] = rng.int(cfg.vocab);
  const positives = new Int32Array(cfg.batch);
  for (let i = 0; i < positives.length; i++) positives[i] = rng.int(cfg.vocab);
  return { history, positives };
}

/** User vectors: history embeddings [B·L, d] → [B, d] (the last position's hidden state). */
export function encode(m: ReferenceModel, history: tf.Tensor2D, B: number): tf.Tensor2D {
  const { L, d, heads } = m.cfg;
  let h = tf.add(tf.reshape(history, [B, L, d]), m.positions) as tf.Tensor3D;
  for (const p of m.blocks) h = transformerBlock(h, p, { heads, causal: true });
  const last = tf.reshape(tf.slice(h, [0, L - 1, 0], [B, 1, d]), [B, d]);
  return layerNorm(last, m.lnGamma, m.lnBeta) as tf.Tensor2D;
}

/**
 * In-batch softmax: logits = u·vᵀ [n, B], the positive of row i is column offset + i;
 * loss = scale · mean_i(logsumexp_j(logits_ij) − logits_i,offset+i). With n = B, offset 0 and
 * scale 1 this is the usual full-batch loss; a data-parallel shard passes its rows' offset and
 * scale n·W/B so that the mean over the W shards is the full-batch loss.
 */
export function inBatchSoftmaxLoss(u: tf.Tensor2D, v: tf.Tensor2D, offset = 0, scale = 1): tf.Scalar {
  const logits = tf.matMul(u, v, false, true);
  const own = u.shape[0] === v.shape[0] ? v : tf.slice(v, [offset, 0], [u.shape[0], v.shape[1]]);
  const diag = tf.sum(tf.mul(u, own), 1);
  const loss = tf.mean(tf.sub(tf.logSumExp(logits, 1), diag)) as tf.Scalar;
  return scale === 1 ? loss : (tf.mul(loss, scale) as tf.Scalar);
}

/** The model's loss given the looked-up history [B·L, d] and positives [B, d]. */
export function referenceLoss(m: ReferenceModel, history: tf.Tensor2D, positives: tf.Tensor2D): tf.Scalar {
  return inBatchSoftmaxLoss(encode(m, history, positives.shape[0]), positives);
}
