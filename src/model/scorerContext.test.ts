/**
 * The model scorer's context path (`stale-context`): a batch context becomes the trainer's top-k
 * input at the last slot of each row; rows with an empty context, batches without one and the
 * baseline take the "no context" path, all through the one `embedHistories`.
 */
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { CtxrecError } from "../core/errors.ts";
import { Rng } from "../core/rng.ts";
import { initEngine } from "../engine/backend.ts";
import { buildHistoryBatch } from "../eval/history.ts";
import { looTargets } from "../eval/loo.ts";
import type { CategoryContext, HistoryBatch } from "../eval/scorer.ts";
import { subjectContext } from "../eval/staleContext.ts";
import { contextFromItems } from "../train/context.ts";
import { trainedContextEncoder } from "../train/contextEncoder.ts";
import { type ModelConfigOverrides, resolveModelConfig } from "./config.ts";
import { itemFeaturesOf } from "./itemFeatures.ts";
import { type CtxrecModel, createModel, disposeModel, itemReps, userStates } from "./model.ts";
import { createModelScorer, embedHistories } from "./scorer.ts";
import { sequenceBatch } from "./sequences.ts";
import { toyWorld } from "./testWorld.ts";
import { vocabSizesOf } from "./vocabSizes.ts";

beforeAll(async () => {
  await initEngine();
});

const small: ModelConfigOverrides = {
  encoder: { dim: 8, heads: 2, ffn: 16, maxLen: 6 },
  context: { dim: 8, dropout: 0 },
  fusion: { hidden: 8 },
};
const K = 4;
const encoder = trainedContextEncoder(K);
const d = 8;

/** The toy world, a model, and the loo test batch of 6 users with each one's subject (event before the target). */
async function setup(over: ModelConfigOverrides = small) {
  const ds = await toyWorld();
  const m = createModel(resolveModelConfig(over), vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(3));
  const { users, positions } = looTargets(ds, "test");
  const B = 6;
  const batch = buildHistoryBatch(ds, users.subarray(0, B), positions.subarray(0, B));
  const subjects = Int32Array.from(positions.subarray(0, B), (p) => p - 1);
  return {
    ds,
    m,
    batch,
    context: subjectContext(ds, subjects),
    subjectItems: Array.from(subjects, (p) => ds.items[p]),
  };
}

/** Reference: one user at a time, straight through userStates, the context input at EVERY slot. */
function reference(
  m: CtxrecModel,
  batch: HistoryBatch,
  b: number,
  input: ReturnType<typeof contextFromItems>,
) {
  const L = m.config.encoder.maxLen;
  const first = batch.historyOffsets[b];
  const end = batch.historyOffsets[b + 1];
  const seq = sequenceBatch(
    batch,
    Int32Array.of(Math.max(first, end - L)),
    Int32Array.of(end),
    Int32Array.of(first),
    L,
  );
  const P = seq.len;
  const tile = <T extends Int32Array | Float32Array | Uint8Array>(a: T, w: number): T => {
    const out = new (a.constructor as new (n: number) => T)(P * w);
    for (let s = 0; s < P; s++) out.set(a, s * w);
    return out;
  };
  const demographics: Record<string, Int32Array> = {};
  for (const [f, c] of Object.entries(batch.demographics)) demographics[f] = new Int32Array(P).fill(c[b]);
  const slots = {
    k: input.k,
    catIds: tile(input.catIds, input.k),
    weights: tile(input.weights, input.k),
    present: tile(input.present, 1),
  };
  return tf.tidy(() => {
    const reps = itemReps(m, seq.items, m.item.ids.gatherRows(seq.items));
    const local = Int32Array.from({ length: P }, (_, i) => i);
    const u = userStates(m, seq, reps, local, { input: slots, demographics }, undefined);
    return tf.slice(u, [seq.lengths[0] - 1, 0], [1, d]).dataSync() as Float32Array;
  });
}

describe("model scorer with a request context", () => {
  it("each row = the model on its history with the trainer's top-k of its subject item", async () => {
    const { ds, m, batch, context, subjectItems } = await setup();
    const withCtx = embedHistories(m, { ...batch, context }, { context: encoder });
    const without = embedHistories(m, batch, { context: encoder });
    for (let b = 0; b < batch.size; b++) {
      const ref = reference(m, batch, b, contextFromItems([subjectItems[b]], ds, K));
      for (let j = 0; j < d; j++) expect(withCtx[b * d + j]).toBeCloseTo(ref[j], 5);
    }
    // …and the context changes the embedding (every toy item has a category).
    expect(Array.from(withCtx)).not.toEqual(Array.from(without));
    disposeModel(m);
  });

  it("a batch without context, or rows with an empty context, take the no-context path", async () => {
    const { m, batch, context } = await setup();
    const plain = embedHistories(m, batch);
    expect(Array.from(embedHistories(m, batch, { context: encoder }))).toEqual(Array.from(plain));
    // Rows 1 and 4 get an empty range: their embeddings are the no-context ones; the others are not.
    const keep = [true, false, true, true, false, true];
    const offsets = new Int32Array(batch.size + 1);
    const cats: number[] = [];
    const confs: number[] = [];
    for (let b = 0; b < batch.size; b++) {
      if (keep[b]) {
        for (let c = context.offsets[b]; c < context.offsets[b + 1]; c++) {
          cats.push(context.categories[c]);
          confs.push(context.confidences[c]);
        }
      }
      offsets[b + 1] = cats.length;
    }
    const partial: CategoryContext = {
      kind: "categories",
      offsets,
      categories: Int32Array.from(cats),
      confidences: Float32Array.from(confs),
    };
    const mixed = embedHistories(m, { ...batch, context: partial }, { context: encoder });
    for (let b = 0; b < batch.size; b++) {
      const row = (a: Float32Array) => Array.from(a.subarray(b * d, (b + 1) * d));
      if (keep[b]) expect(row(mixed)).not.toEqual(row(plain));
      else for (let j = 0; j < d; j++) expect(mixed[b * d + j]).toBeCloseTo(plain[b * d + j], 5);
    }
    disposeModel(m);
  });

  it("the baseline has no context layer: a context changes nothing and needs no encoder", async () => {
    const { m, batch, context } = await setup({ ...small, context: { ...small.context, enabled: false } });
    expect(Array.from(embedHistories(m, { ...batch, context }))).toEqual(
      Array.from(embedHistories(m, batch)),
    );
    disposeModel(m);
  });

  it("a contextual model refuses a context it has no encoder for (never dropped silently)", async () => {
    const { m, batch, context } = await setup();
    const scorer = createModelScorer(m, "no-encoder");
    await expect(scorer.userEmbeddings({ ...batch, context })).rejects.toThrow(CtxrecError);
    await expect(scorer.userEmbeddings({ ...batch, context })).rejects.toThrow(/no context encoder/);
    const bad = { ...context, offsets: context.offsets.subarray(1) };
    expect(() => embedHistories(m, { ...batch, context: bad }, { context: encoder })).toThrow(
      /context offsets/,
    );
    disposeModel(m);
  });
});
