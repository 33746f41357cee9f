/**
 * Item tower `f(item) → R^d` (DESIGN §2): id embedding (a sparse table, updated lazily) + the
 * confidence-weighted mean of the item's category embeddings, an optional residual MLP, optional
 * L2 normalisation. Tower "dcnv2" (src/model/cross.ts) replaces the residual MLP by
 * x + P·concat(Cross(x), relu(W x + b)) + p, P [2d, d] (the MLP's dense is built for it whatever
 * `args.mlp` says). The SAME function embeds the history items and the retrieval candidates
 * (weight tying: what the encoder reads is what the user vector is scored against).
 * Shapes: U unique items of a batch, Kc categories per item, C category vocabulary, d width.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Rng } from "../core/rng.ts";
import { assertShape } from "../core/shapes.ts";
import { SparseEmbeddingTable } from "../engine/sparseEmbedding.ts";
import { type EmbeddingInit, embeddingInitStd, type ItemTowerArgs, type TowerArgs } from "./config.ts";
import { type CrossLayerParams, crossDeep, crossVariables, initCrossNetwork } from "./cross.ts";
import type { ItemFeatures } from "./itemFeatures.ts";
import { paddedCategories } from "./itemFeatures.ts";
import { type DenseParams, dense, initDense, l2Normalize, normalVariable } from "./layers.ts";

export interface ItemTowerParams {
  args: ItemTowerArgs;
  /** [N, d] id embeddings (row 0 padding), outside the dense graph. */
  ids: SparseEmbeddingTable;
  /** [C, d] category embeddings (row 0 padding, never read with a non-zero weight). */
  categories?: tf.Variable<tf.Rank.R2>;
  mlp?: DenseParams;
  /** Tower "dcnv2": the cross stack on x [U, d] and the projection P [2d, d] of concat(cross, MLP). */
  dcn?: { layers: CrossLayerParams[]; out: DenseParams };
}

export function initItemTower(
  args: ItemTowerArgs,
  numItems: number,
  numCategories: number,
  dim: number,
  rng: Rng,
  prefix: string,
  init: EmbeddingInit = "scaled",
  tower?: TowerArgs,
): ItemTowerParams {
  const ids = SparseEmbeddingTable.create({
    rows: numItems,
    dim,
    rng: rng.fork(),
    scale: embeddingInitStd(init, numItems, dim, 1 / Math.sqrt(dim)),
    name: `${prefix}item/ids`,
  });
  const p: ItemTowerParams = { args, ids };
  if (args.categories)
    p.categories = normalVariable(
      numCategories,
      dim,
      embeddingInitStd(init, numCategories, dim, 1 / Math.sqrt(dim)),
      rng.fork(),
      `${prefix}item/categories`,
    );
  const dcn = tower?.kind === "dcnv2";
  if (args.mlp || dcn) p.mlp = initDense(dim, dim, rng.fork(), `${prefix}item/mlp`);
  // Forked after every mlp draw, so an mlp model's initial weights are unchanged by the option.
  if (dcn) {
    const dr = rng.fork();
    p.dcn = {
      layers: initCrossNetwork(tower, dim, dr.fork(), `${prefix}item`),
      out: initDense(2 * dim, dim, dr.fork(), `${prefix}item/dcnOut`),
    };
  }
  return p;
}

/** Dense variables of the tower (the id table is sparse and not among them). */
export function itemTowerVariables(p: ItemTowerParams): tf.Variable[] {
  return [
    ...(p.categories ? [p.categories] : []),
    ...(p.mlp ? [p.mlp.w, p.mlp.b] : []),
    ...(p.dcn ? [...crossVariables(p.dcn.layers), p.dcn.out.w, p.dcn.out.b] : []),
  ];
}

/**
 * Item representations of `items` [U] given their id-embedding rows `idRows` [U, d] (looked up by
 * the caller, so training can route the table's gradient through `trainStep`) → [U, d].
 */
export function itemTower(
  p: ItemTowerParams,
  features: ItemFeatures,
  items: Int32Array,
  idRows: tf.Tensor2D,
): tf.Tensor2D {
  const d = p.ids.dim;
  assertShape(idRows.shape, [items.length, d], "itemTower idRows [U, d]");
  let x: tf.Tensor2D = idRows;
  if (p.categories !== undefined) {
    const { k, ids, weights } = paddedCategories(features, items);
    const emb = tf.reshape(tf.gather(p.categories, tf.tensor1d(ids, "int32")), [items.length, k, d]);
    const w = tf.tensor3d(weights, [items.length, k, 1]);
    x = tf.add(x, tf.sum(tf.mul(emb, w), 1)) as tf.Tensor2D; // Σ_k w_k·emb_k, [U, d]
  }
  if (p.mlp !== undefined) {
    const deep = tf.relu(dense(x, p.mlp)) as tf.Tensor2D; // [U, d]
    x = tf.add(x, p.dcn !== undefined ? crossDeep(x, deep, p.dcn.layers, p.dcn.out) : deep) as tf.Tensor2D;
  }
  return p.args.l2Normalize ? l2Normalize(x) : x;
}

/** Every item's representation [N, d] (inference: no dropout), in chunks to bound memory. */
export function allItemEmbeddings(p: ItemTowerParams, features: ItemFeatures, chunk = 4096): Float32Array {
  const N = p.ids.rows;
  const d = p.ids.dim;
  const out = new Float32Array(N * d);
  for (let a = 0; a < N; a += chunk) {
    const items = new Int32Array(Math.min(chunk, N - a)).map((_, j) => a + j);
    const values = tf.tidy(() => itemTower(p, features, items, p.ids.gatherRows(items)).dataSync());
    out.set(values, a * d);
  }
  return out;
}
