/**
 * Test and bench helper (not exported from the package): random models and random inputs for the
 * ONNX parity tests and bench/encode.ts, built without a data set (seeded item → category lists,
 * vocabulary sizes chosen so every optional table exists: event types, time gaps, demographics).
 * Shapes: B rows, Lb padded length, k slots, N items, C categories, d width.
 */
import { Rng } from "../core/rng.ts";
import { type ModelConfigOverrides, resolveModelConfig, type VocabSizes } from "../model/config.ts";
import type { ContextInput } from "../model/contextLayer.ts";
import { GAP_BUCKETS } from "../model/encoder.ts";
import { withMax } from "../model/itemFeatures.ts";
import { type CtxrecModel, createModel } from "../model/model.ts";
import type { EncoderInput } from "./runtime.ts";

export interface RandomModelArgs {
  config?: ModelConfigOverrides;
  /** N items incl. padding (default 50). */
  items?: number;
  /** C categories incl. padding (default 12). */
  categories?: number;
  /** Overrides of the vocabulary sizes (e.g. types: 2 = no type embedding). */
  sizes?: Partial<VocabSizes>;
  seed?: number;
}

/** A model with seeded weights; items 1..N-1 carry 1–3 categories with random confidences. */
export function randomModel(a: RandomModelArgs = {}): CtxrecModel {
  const N = a.items ?? 50;
  const C = a.categories ?? 12;
  const rng = new Rng(a.seed ?? 1);
  const offsets = new Int32Array(N + 1);
  const ids: number[] = [];
  const conf: number[] = [];
  for (let i = 1; i < N; i++) {
    const n = 1 + rng.int(3);
    for (let j = 0; j < n; j++) {
      ids.push(1 + rng.int(C - 1));
      conf.push(0.1 + 0.9 * rng.float());
    }
    offsets[i + 1] = ids.length;
  }
  const sizes: VocabSizes = {
    items: N,
    categories: C,
    types: 4,
    demographics: { age: 9, country: 5, gender: 2 },
    hasTimeGaps: true,
    ...a.sizes,
  };
  const features = withMax(offsets, Int32Array.from(ids), Float32Array.from(conf));
  return createModel(resolveModelConfig(a.config), sizes, features, rng.fork());
}

/** A right-padded batch with rows of the given lengths (0 = empty history), random codes. */
export function randomHistories(m: CtxrecModel, lengths: number[], rng: Rng): EncoderInput {
  const B = lengths.length;
  const len = Math.max(0, ...lengths);
  const items = new Int32Array(B * len);
  const types = new Int32Array(B * len);
  const gaps = new Int32Array(B * len);
  lengths.forEach((n, b) => {
    for (let t = 0; t < n; t++) {
      const o = b * len + t;
      items[o] = 1 + rng.int(m.sizes.items - 1);
      types[o] = 1 + rng.int(m.sizes.types - 1);
      gaps[o] = 1 + rng.int(GAP_BUCKETS - 1);
    }
  });
  return { B, len, items, types, gaps, lengths: Int32Array.from(lengths) };
}

/** Random contexts of B rows with k slots: some empty slots, weights summing to 1, some rows absent. */
export function randomContext(B: number, k: number, categories: number, rng: Rng): ContextInput {
  const catIds = new Int32Array(B * k);
  const weights = new Float32Array(B * k);
  const present = new Uint8Array(B);
  for (let b = 0; b < B; b++) {
    present[b] = rng.float() < 0.8 ? 1 : 0;
    const filled = 1 + rng.int(k);
    let total = 0;
    for (let j = 0; j < filled; j++) {
      catIds[b * k + j] = 1 + rng.int(categories - 1);
      weights[b * k + j] = 0.05 + rng.float();
      total += weights[b * k + j];
    }
    for (let j = 0; j < filled; j++) weights[b * k + j] /= total;
  }
  return { k, catIds, weights, present };
}

/** Random demographic codes [B] for every field of the model's context layer (1 = missing among them). */
export function randomDemographics(m: CtxrecModel, B: number, rng: Rng): Record<string, Int32Array> {
  const out: Record<string, Int32Array> = {};
  for (const { field, table } of m.context?.demographics ?? [])
    out[field] = Int32Array.from({ length: B }, () => 1 + rng.int(table.shape[0] - 1));
  return out;
}
