/**
 * Dropout masks keyed by training row, so that a row's masks do not depend on which other rows
 * share its batch, on how long the batch is padded, or on which thread encodes it. That is what
 * makes data-parallel training (`--threads N`) give the same model as one thread up to float
 * rounding: every worker draws, for its slice of the batch, exactly the masks one thread would
 * draw for those rows.
 *
 * Each mask value is a counter-based hash (no generator state to advance):
 *
 *     keep(row, site, coord) = fmix32(siteKey(rowKey[row], site) + coord·φ) ≥ rate · 2³²
 *
 * `rowKey` comes from the step and the row's identity (`rowKeys`), `site` counts the dropout calls
 * of the forward pass (the same code runs on every thread, so the n-th call is the same layer
 * everywhere), and `coord` is the element's place inside its row in a layout that does not depend
 * on the padded length: rows are right-padded, so position t of a row is t whatever the batch's Lb.
 * Masks are built on the host; tfjs' own `dropout` does the same (its uniform draws run in JS), and
 * it cannot key them by row.
 */
import * as tf from "@tensorflow/tfjs-core";
import { requireArg } from "../core/errors.ts";
import { fmix32 } from "../core/rng.ts";

/** Golden-ratio increments that spread consecutive counters over the 32 bits before mixing. */
const STEP_STRIDE = 0x9e3779b9;
const ROW_STRIDE = 0x85ebca77;
const SITE_STRIDE = 0xc2b2ae35;

/**
 * The key of training row `row` (its index in the training rows) at step `step` of a run seeded
 * `seed`: the same on every thread that encodes the row in that step.
 */
export function rowKey(seed: number, step: number, row: number): number {
  const stepKey = fmix32((seed ^ Math.imul(step + 1, STEP_STRIDE)) | 0);
  return fmix32((stepKey ^ Math.imul(row + 1, ROW_STRIDE)) | 0);
}

/** Keys [B] of the rows `batch` (indices into the training rows) at step `step`. */
export function rowKeys(seed: number, step: number, batch: ArrayLike<number>): Int32Array {
  return Int32Array.from({ length: batch.length }, (_, b) => rowKey(seed, step, batch[b]));
}

/**
 * Multiplier of coordinate `coord` under `key`: 0 when its hash falls under `threshold`
 * (= rate·2³²), else `scale`. The murmur3 finaliser of key + coord·φ, written out (integer ops
 * only) because it runs once per element of every dropout. Measured at load 3.3: a [256, 50, 64]
 * mask applied in 36 ms, against 30–38 ms for `tf.dropout` (docs/training.md, "Threads").
 */
function multiplier(key: number, coord: number, threshold: number, scale: number): number {
  let h = (key + Math.imul(coord, 0x9e3779b9)) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0 >= threshold ? scale : 0;
}

/** The key of one (row key, dropout site) pair. */
function siteKey(row: number, site: number): number {
  return fmix32((row ^ Math.imul(site + 1, SITE_STRIDE)) | 0);
}

/** One training step's dropout: masks for the rows whose keys it holds. */
export class RowDropout {
  private site = 0;

  /**
   * @param keys [B] row keys (`rowKeys`) of the batch's rows, in batch order
   * @param maxLen the model's longest sequence: the stride that makes attention coordinates
   *   independent of the padded length
   */
  constructor(
    readonly keys: Int32Array,
    readonly maxLen: number,
  ) {
    requireArg(keys.length > 0, "keys", "a step's dropout needs at least one row");
  }

  /**
   * x · mask for x whose leading axis holds the B rows, [B, …], or the B·Lb positions of the rows,
   * [B·Lb, …] (the same memory layout as [B, Lb, …]): element (b, t, j) keeps coordinate t·rest + j.
   */
  apply<T extends tf.Tensor>(x: T, rate: number): T {
    const B = this.keys.length;
    requireArg(x.size % B === 0, "x", `dropout over ${B} rows got ${x.size} elements [${x.shape}]`);
    const rowSize = x.size / B;
    const site = this.site++;
    const [threshold, scale] = [rate * 2 ** 32, 1 / (1 - rate)];
    const m = new Float32Array(x.size);
    for (let b = 0; b < B; b++) {
      const key = siteKey(this.keys[b], site);
      const o = b * rowSize;
      for (let i = 0; i < rowSize; i++) m[o + i] = multiplier(key, i, threshold, scale);
    }
    return tf.mul(x, tf.tensor(m, x.shape)) as T;
  }

  /**
   * x · mask for attention weights x [H·B, L, L] (head-major, as `splitHeads` lays them out):
   * element (h, b, q, k) keeps coordinate (h·maxLen + q)·maxLen + k.
   */
  applyHeads<T extends tf.Tensor>(x: T, rate: number, heads: number): T {
    const B = this.keys.length;
    const [HB, L] = x.shape;
    requireArg(
      x.rank === 3 && HB === heads * B && x.shape[2] === L,
      "x",
      `attention weights [${heads}·${B}, L, L], got [${x.shape}]`,
    );
    requireArg(L <= this.maxLen, "x", `attention length ${L} exceeds the model's ${this.maxLen}`);
    const Lm = this.maxLen;
    const site = this.site++;
    const [threshold, scale] = [rate * 2 ** 32, 1 / (1 - rate)];
    const m = new Float32Array(x.size);
    // Slab (h, b) holds row b's weights of head h: the head enters the coordinate.
    for (let b = 0; b < B; b++) {
      const key = siteKey(this.keys[b], site);
      for (let h = 0; h < heads; h++) {
        const o = (h * B + b) * L * L;
        for (let q = 0; q < L; q++) {
          const c = (h * Lm + q) * Lm;
          for (let k = 0; k < L; k++) m[o + q * L + k] = multiplier(key, c + k, threshold, scale);
        }
      }
    }
    return tf.mul(x, tf.tensor(m, x.shape)) as T;
  }
}

/** Dropout by `source` (undefined or rate 0 = inference: the identity). */
export function dropout<T extends tf.Tensor>(x: T, rate: number, source: RowDropout | undefined): T {
  if (source === undefined || rate <= 0) return x;
  return source.apply(x, rate);
}

/** `dropout` of attention weights [H·B, L, L] (`RowDropout.applyHeads`). */
export function dropoutHeads<T extends tf.Tensor>(
  x: T,
  rate: number,
  source: RowDropout | undefined,
  heads: number,
): T {
  if (source === undefined || rate <= 0) return x;
  return source.applyHeads(x, rate, heads);
}
