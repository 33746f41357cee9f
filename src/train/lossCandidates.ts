/**
 * Negative candidates of the retrieval loss, each carrying the expected number of times its item
 * appears among the batch's candidates (Merlin's rule: sampling probabilities travel with the
 * candidates, so the logQ correction cannot run without them).
 *
 * Glossary: B batch rows, M candidates, d width, N = item vocabulary size (row 0 = padding, real
 * items 1..N−1). Item id 0 is padding everywhere: a padding candidate never competes in the loss.
 *
 * Mixed negative sampling (Yang et al. 2020, "Mixed Negative Sampling for Learning Two-tower Neural
 * Networks in Recommendations"): the candidates are the batch's M_b real positives (in-batch,
 * drawn from the unigram distribution of training positives q_i = f_i / Σf) plus M_u ids drawn
 * uniformly with replacement over the N−1 real items. The expected count of item i among them is
 *
 *     E[count_i] = M_b · f_i / Σf  +  M_u / (N − 1)
 *
 * and `expectedCount` holds exactly that for every candidate column, clamped at
 * EXPECTED_COUNT_MIN so that no column gets log(0) = −∞ as a correction (TFRS does not clamp).
 * Expected counts rather than probabilities: they add across samplers, and log(M·q) differs from
 * log q by a constant over all columns, which the softmax ignores.
 */
import * as tf from "@tensorflow/tfjs-core";
import { requireArg } from "../core/errors.ts";
import type { Rng } from "../core/rng.ts";
import { assertLength, assertShape } from "../core/shapes.ts";

/**
 * Floor of every expected count (ε). An item never seen as a positive but present among the
 * candidates (only possible if frequencies come from another set) would otherwise get an infinite
 * logit; 1e-8 still leaves the rarest real item of a 10⁸-event log (count M·10⁻⁸) unclamped for M ≥ 1.
 */
export const EXPECTED_COUNT_MIN = 1e-8;

/** How a set of candidates was drawn: the expected count of any item id under the sampler(s). */
export interface CandidateSampler {
  /** For messages and logs, e.g. "in-batch", "uniform", "in-batch+uniform". */
  readonly name: string;
  /** Expected number of times item `id` appears among this sampler's draws for one batch (unclamped). */
  expectedCount(id: number): number;
}

/** Negative candidates of one batch. */
export interface Candidates {
  /** [M] item ids (0 = padding: never competes). */
  ids: Int32Array;
  /** [M, d] item-tower embeddings of `ids`. */
  embeddings: tf.Tensor2D;
  /**
   * [M] expected number of times item ids[m] appears among the M candidates under the sampler(s):
   * the logQ term, already clamped ≥ EXPECTED_COUNT_MIN.
   */
  expectedCount: Float32Array;
  /** The sampler(s) the candidates came from; gives the label column its own consistent correction. */
  sampler: CandidateSampler;
}

/** Builds `Candidates`, checking that ids, embeddings and sampler agree in length. */
function makeCandidates(ids: Int32Array, embeddings: tf.Tensor2D, sampler: CandidateSampler): Candidates {
  assertShape(embeddings.shape, [ids.length, -1], "candidates.embeddings");
  const expectedCount = new Float32Array(ids.length);
  for (let m = 0; m < ids.length; m++) {
    expectedCount[m] = Math.max(EXPECTED_COUNT_MIN, sampler.expectedCount(ids[m]));
  }
  return { ids, embeddings, expectedCount, sampler };
}

/**
 * Counts how often each item id occurs in `ids` (e.g. the positives of all training examples):
 * the `itemFrequency` of `inBatchCandidates`.
 *
 * @param ids [P] item ids in [0, numItems)
 * @param numItems N, the item vocabulary size
 * @returns [N] counts; index 0 (padding) is always 0
 */
export function itemFrequency(ids: ArrayLike<number>, numItems: number): Float64Array {
  requireArg(
    Number.isInteger(numItems) && numItems >= 1,
    "numItems",
    `expected an integer ≥ 1, got ${numItems}`,
  );
  const f = new Float64Array(numItems);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    requireArg(
      Number.isInteger(id) && id >= 0 && id < numItems,
      "ids",
      `id ${id} at position ${i} is not in [0, ${numItems})`,
    );
    if (id !== 0) f[id]++;
  }
  return f;
}

/**
 * In-batch candidates: the batch's own positives. They are draws from the distribution of training
 * positives, so item i is expected M_b · f_i / Σf times among them, where M_b is the number of real
 * (non-padding) rows.
 *
 * @param ids [B] positive item ids of the batch (0 = padding row)
 * @param embeddings [B, d] their item-tower embeddings
 * @param frequency [N] count of each item among the training positives (see `itemFrequency`)
 * @param total Σf, the number of training positives (> 0)
 */
export function inBatchCandidates(
  ids: Int32Array,
  embeddings: tf.Tensor2D,
  frequency: ArrayLike<number>,
  total: number,
): Candidates {
  requireArg(Number.isFinite(total) && total > 0, "total", `expected Σf > 0, got ${total}`);
  let real = 0;
  for (let b = 0; b < ids.length; b++) {
    const id = ids[b];
    requireArg(
      Number.isInteger(id) && id >= 0 && id < frequency.length,
      "ids",
      `id ${id} at row ${b} is not in [0, ${frequency.length}) (the frequency table's length)`,
    );
    if (id !== 0) real++;
  }
  const scale = real / total;
  return makeCandidates(ids, embeddings, {
    name: "in-batch",
    expectedCount: (id) => (id > 0 && id < frequency.length ? scale * frequency[id] : 0),
  });
}

/**
 * Draws `count` item ids uniformly with replacement over the real items 1..N−1. Drawn before the
 * training step, because the step must know every id whose embedding rows it touches.
 *
 * @param numItems N, the item vocabulary size (padding row included; ≥ 2)
 * @returns [count] item ids
 */
export function sampleUniformIds(count: number, numItems: number, rng: Rng): Int32Array {
  requireArg(Number.isInteger(count) && count >= 0, "count", `expected an integer ≥ 0, got ${count}`);
  requireArg(
    Number.isInteger(numItems) && numItems >= 2,
    "numItems",
    `expected the item vocabulary size (≥ 2: padding + one item), got ${numItems}`,
  );
  const ids = new Int32Array(count);
  for (let m = 0; m < count; m++) ids[m] = 1 + rng.int(numItems - 1);
  return ids;
}

/**
 * Uniform candidates: `ids` drawn by `sampleUniformIds`, so item i is expected M_u / (N − 1) times
 * among them (with replacement: this is exact, duplicates included).
 *
 * @param ids [M_u] ids from `sampleUniformIds(M_u, numItems, rng)`
 * @param embeddings [M_u, d] their item-tower embeddings
 * @param numItems N, the item vocabulary size (padding row included)
 */
export function uniformCandidates(ids: Int32Array, embeddings: tf.Tensor2D, numItems: number): Candidates {
  requireArg(Number.isInteger(numItems) && numItems >= 2, "numItems", `expected ≥ 2, got ${numItems}`);
  const per = ids.length / (numItems - 1);
  return makeCandidates(ids, embeddings, {
    name: "uniform",
    expectedCount: (id) => (id > 0 && id < numItems ? per : 0),
  });
}

/**
 * Mixed candidates (Yang et al. 2020): the columns of `a` then those of `b`. Both samplers ran, so
 * every column's expected count is the sum of its item's expected counts under each:
 * E[count_i] = E_a[count_i] + E_b[count_i]; for in-batch + uniform, M_b·f_i/Σf + M_u/(N−1).
 * The embeddings are concatenated (a new [M_a + M_b, d] tensor; call inside tidy).
 */
export function mixCandidates(a: Candidates, b: Candidates): Candidates {
  assertLength(a.expectedCount, a.ids.length, "a.expectedCount");
  assertLength(b.expectedCount, b.ids.length, "b.expectedCount");
  assertShape(b.embeddings.shape, [b.ids.length, a.embeddings.shape[1]], "b.embeddings");
  const ids = new Int32Array(a.ids.length + b.ids.length);
  ids.set(a.ids, 0);
  ids.set(b.ids, a.ids.length);
  const sa = a.sampler;
  const sb = b.sampler;
  const sampler: CandidateSampler = {
    name: `${sa.name}+${sb.name}`,
    expectedCount: (id) => sa.expectedCount(id) + sb.expectedCount(id),
  };
  return makeCandidates(ids, tf.concat2d([a.embeddings, b.embeddings], 0), sampler);
}
