/**
 * Multi-task training of the retrieval tower (issue #14, the Shopping Conversion CG): the
 * conversion retrieval loss, an engagement auxiliary and an advertiser-level loss, all on the one
 * user embedding u (hard parameter sharing: the auxiliaries shape the shared tower and add no
 * parameters, so the artifact, the ONNX graphs and serving stay those of the plain model).
 *
 * - **Engagement auxiliary.** Positions whose positive has an engagement event type (e.g. the
 *   synthetic world's `page_visit`, `add_to_cart`) are trained with weight `engagementWeight`,
 *   the others (conversions) with 1: `L = Σ_r w_r·CE_r / R`. With no engagement types every
 *   position is a conversion and the loss is the plain one.
 * - **Advertiser-level loss.** A softmax over advertisers: advertiser a is represented by the
 *   centroid c_a of its items' tower embeddings, and a conversion position r is trained to pick
 *   its positive's advertiser, `CE(softmax_a(u_r·c_a / τ), adv(pos_r))`, so u learns the
 *   advertiser-level intent that a single item's softmax spreads over many look-alike items.
 *   Items without an advertiser belong to no group, and a positive without one adds nothing.
 *
 * Shapes: R real positions, N items, N' items with an advertiser, A advertisers with items, d width.
 */
import * as tf from "@tensorflow/tfjs-core";
import { CtxrecError, requireArg } from "../core/errors.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import { FIRST_OPTIONAL_CODE } from "../data/vocab.ts";

/** The catalogue's items grouped by advertiser (host arrays, built once per run). */
export interface AdvertiserGroups {
  /** [N'] items with an advertiser, sorted by advertiser code (then item). */
  order: Int32Array;
  /** [A] first index into `order` of each group; group g spans starts[g] .. ends[g] − 1. */
  starts: Int32Array;
  ends: Int32Array;
  /** [A] items per group. */
  counts: Float32Array;
  /** [N] group index of each item, −1 for items without an advertiser (and padding). */
  groupOf: Int32Array;
}

/** Groups the items of `itemAdvertiser` ([N] advertiser codes) by advertiser. */
export function advertiserGroups(itemAdvertiser: Int32Array): AdvertiserGroups {
  const items: number[] = [];
  for (let i = 1; i < itemAdvertiser.length; i++) if (itemAdvertiser[i] >= FIRST_OPTIONAL_CODE) items.push(i);
  items.sort((a, b) => itemAdvertiser[a] - itemAdvertiser[b] || a - b);
  const order = Int32Array.from(items);
  const starts: number[] = [];
  const ends: number[] = [];
  const groupOf = new Int32Array(itemAdvertiser.length).fill(-1);
  for (let j = 0; j < order.length; j++) {
    if (j === 0 || itemAdvertiser[order[j]] !== itemAdvertiser[order[j - 1]]) {
      if (j > 0) ends.push(j);
      starts.push(j);
    }
    groupOf[order[j]] = starts.length - 1;
  }
  if (order.length > 0) ends.push(order.length);
  return {
    order,
    starts: Int32Array.from(starts),
    ends: Int32Array.from(ends),
    counts: Float32Array.from(starts, (s, g) => ends[g] - s),
    groupOf,
  };
}

/**
 * Centroids [A, d] of the item embeddings `reps` [N, d] (row = item id) per advertiser group,
 * differentiable in `reps`. Computed as differences of one cumulative sum over the items sorted by
 * group (tfjs' wasm backend has no UnsortedSegmentSum kernel; Cumsum and its gradient it has), so
 * the cost is O(N'·d) whatever the number of advertisers.
 */
export function advertiserCentroids(reps: tf.Tensor2D, groups: AdvertiserGroups): tf.Tensor2D {
  return tf.tidy(() => {
    const d = reps.shape[1];
    const sorted = tf.gather(reps, tf.tensor1d(groups.order, "int32")) as tf.Tensor2D;
    // Along the last axis: tfjs-core's Cumsum gradient returns a transposed shape for axis 0 of a
    // 2-D input ("gradient of input 'x' has shape 2,5 … input 5,2", tfjs-core 4.22).
    const running = tf.concat([tf.zeros([d, 1]), tf.cumsum(tf.transpose(sorted), 1)], 1); // [d, N' + 1]
    const sums = tf.sub(
      tf.gather(running, tf.tensor1d(groups.ends, "int32"), 1),
      tf.gather(running, tf.tensor1d(groups.starts, "int32"), 1),
    ); // [d, A]
    return tf.div(tf.transpose(sums), tf.tensor2d(groups.counts, [groups.counts.length, 1])) as tf.Tensor2D;
  });
}

/**
 * The advertiser-level loss `Σ_r w_r·CE_r / R` of user embeddings `u` [R, d] against the
 * advertiser `centroids` [A, d]; `labels` [R] the group of each row's positive and `weights` [R]
 * (0 where the row has no advertiser target).
 */
export function advertiserLoss(
  u: tf.Tensor2D,
  centroids: tf.Tensor2D,
  labels: Int32Array,
  weights: Float32Array,
  temperature: number,
): tf.Scalar {
  requireArg(labels.length === u.shape[0], "labels", `expected ${u.shape[0]} labels, got ${labels.length}`);
  return tf.tidy(() => {
    let logits = tf.matMul(u, centroids, false, true) as tf.Tensor2D; // [R, A]
    if (temperature !== 1) logits = tf.div(logits, temperature);
    const safe = Int32Array.from(labels, (g) => Math.max(0, g)); // weight 0 where g = −1
    const onehot = tf.oneHot(tf.tensor1d(safe, "int32"), centroids.shape[0]);
    const ce = tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits, 1), onehot), 1));
    return tf.div(tf.sum(tf.mul(ce, tf.tensor1d(weights))), Math.max(1, labels.length)) as tf.Scalar;
  });
}

/** The multi-task settings of a run, resolved against its data set. */
export interface TaskSetup {
  /** Event-type codes whose positives are engagement (auxiliary) examples. */
  engagementTypes: ReadonlySet<number>;
  engagementWeight: number;
  /** Present when the advertiser-level loss is on (advertiserWeight > 0). */
  advertisers?: AdvertiserGroups;
  advertiserWeight: number;
}

/** The multi-task settings of `args` on `ds`, with a clear error for a type the data does not have. */
export function taskSetup(
  ds: CompiledDataset,
  args: { engagementTypes: readonly string[]; engagementWeight: number; advertiserWeight: number },
): TaskSetup {
  const known = ds.typeVocab.names.slice(FIRST_OPTIONAL_CODE);
  const engagementTypes = new Set<number>();
  for (const name of args.engagementTypes) {
    const code = ds.typeVocab.names.indexOf(name);
    if (code < FIRST_OPTIONAL_CODE) {
      throw new CtxrecError(
        "CTXREC_ERR_ARG",
        `event type '${name}' is not in the data (its types: ${known.length > 0 ? known.join(", ") : "none: every event is untyped"})`,
        { param: "--engagement-types" },
      );
    }
    engagementTypes.add(code);
  }
  if (engagementTypes.size > 0 && engagementTypes.size >= known.length) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      "every event type is an engagement type: no conversion is left to retrieve",
      {
        param: "--engagement-types",
      },
    );
  }
  const out: TaskSetup = {
    engagementTypes,
    engagementWeight: args.engagementWeight,
    advertiserWeight: args.advertiserWeight,
  };
  if (args.advertiserWeight > 0) {
    const advertisers = advertiserGroups(ds.itemAdvertiser);
    if (advertisers.starts.length < 2) {
      throw new CtxrecError(
        "CTXREC_ERR_ARG",
        `the advertiser-level loss needs items of at least 2 advertisers; the catalogue has ${advertisers.starts.length}`,
        { param: "--advertiser-weight" },
      );
    }
    out.advertisers = advertisers;
  }
  return out;
}

/**
 * Per-position weights [R] of the retrieval loss (1 for a conversion, engagementWeight for an
 * engagement positive), or undefined when every position weighs 1; `positiveTypes` [R].
 */
export function retrievalWeights(positiveTypes: Int32Array, tasks: TaskSetup): Float32Array | undefined {
  if (tasks.engagementTypes.size === 0) return undefined;
  return Float32Array.from(positiveTypes, (t) => (tasks.engagementTypes.has(t) ? tasks.engagementWeight : 1));
}

/** Advertiser targets of the conversion positions: labels [R] (−1: none) and weights [R]. */
export function advertiserTargets(
  positives: Int32Array,
  positiveTypes: Int32Array,
  tasks: TaskSetup,
): { labels: Int32Array; weights: Float32Array } | undefined {
  const groups = tasks.advertisers;
  if (groups === undefined) return undefined;
  const labels = Int32Array.from(positives, (p, r) =>
    tasks.engagementTypes.has(positiveTypes[r]) ? -1 : groups.groupOf[p],
  );
  return { labels, weights: Float32Array.from(labels, (g) => (g >= 0 ? 1 : 0)) };
}
