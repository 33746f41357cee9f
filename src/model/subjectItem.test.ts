/**
 * The subject item's id as context (`context.subjectItem`, issue #11 part 5): the context layer
 * reads the subject's item-tower vector beside its categories, the scorer passes each request's
 * subject through, training takes it from the slot's input item under stale-state training only,
 * and the ONNX export refuses the model (its online graph has no item-vector input).
 */
import path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { CtxrecError } from "../core/errors.ts";
import { Rng } from "../core/rng.ts";
import { tempFolder } from "../data/testFiles.ts";
import { initEngine } from "../engine/backend.ts";
import { buildHistoryBatch } from "../eval/history.ts";
import { looTargets } from "../eval/loo.ts";
import { subjectContext } from "../eval/staleContext.ts";
import { assertServable, isServable } from "../onnx/online.ts";
import { trainedContextEncoder } from "../train/contextEncoder.ts";
import { stepLoss, stepSetup } from "../train/step.ts";
import { prepareRows } from "../train/stepTesting.ts";
import { resolveTrainArgs } from "../train/trainArgs.ts";
import { loadModel, saveModel } from "./artifact.ts";
import { resolveModelConfig } from "./config.ts";
import { contextLayerVariables } from "./contextLayer.ts";
import { itemFeaturesOf } from "./itemFeatures.ts";
import { createModel, disposeModel, subjectVectors } from "./model.ts";
import { embedHistories } from "./scorer.ts";
import { toyWorld } from "./testWorld.ts";
import { vocabSizesOf } from "./vocabSizes.ts";

beforeAll(async () => {
  await initEngine();
});

const config = resolveModelConfig({
  encoder: { dim: 8, heads: 2, ffn: 16, maxLen: 6, dropout: 0.1 },
  context: { dim: 8, subjectItem: true },
  fusion: { hidden: 8 },
});

async function subjectModel() {
  const ds = await toyWorld({ users: 40 });
  return { ds, m: createModel(config, vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(5)) };
}

describe("the subject item's id as context", () => {
  it("subjectVectors: the rows of the subjects' vectors, a zero row where there is none", () => {
    const reps = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
    const v = subjectVectors(reps, Int32Array.of(2, 0, 1), Int32Array.of(7, 0, 9));
    expect(Array.from(v.dataSync())).toEqual([5, 6, 0, 0, 3, 4]);
    tf.dispose([reps, v]);
  });

  it("changes a request's embedding with the subject item even where the categories are the same", async () => {
    const { ds, m } = await subjectModel();
    const { users, positions } = looTargets(ds, "test");
    const B = 4;
    const batch = buildHistoryBatch(ds, users.subarray(0, B), positions.subarray(0, B));
    const context = subjectContext(
      ds,
      Int32Array.from(positions.subarray(0, B), (p) => p - 1),
    );
    const encoder = trainedContextEncoder(4);
    const asIs = embedHistories(m, { ...batch, context }, { context: encoder });
    // Row 0's subject swapped for another item, its categories kept.
    const items = Int32Array.from(context.items ?? []);
    items[0] = items[0] === 1 ? 2 : 1;
    const swapped = embedHistories(m, { ...batch, context: { ...context, items } }, { context: encoder });
    const d = m.config.encoder.dim;
    expect(Array.from(swapped.subarray(0, d))).not.toEqual(Array.from(asIs.subarray(0, d)));
    expect(Array.from(swapped.subarray(d))).toEqual(Array.from(asIs.subarray(d)));
    // The artifact keeps the option: the loaded model embeds the same requests the same way.
    const tmp = tempFolder("ctxrec-subject-");
    try {
      saveModel(path.join(tmp.dir, "model"), m, { dataset: ds });
      const loaded = loadModel(path.join(tmp.dir, "model")).model;
      expect(loaded.config.context.subjectItem).toBe(true);
      expect(Array.from(embedHistories(loaded, { ...batch, context }, { context: encoder }))).toEqual(
        Array.from(asIs),
      );
      disposeModel(loaded);
    } finally {
      tmp.remove();
    }
    // A context without subject items is refused, not read as "no subject".
    const { items: _dropped, ...categoriesOnly } = context;
    expect(() => embedHistories(m, { ...batch, context: categoriesOnly }, { context: encoder })).toThrow(
      /subject item/,
    );
    disposeModel(m);
  });

  it("trains under stale-state training, the gradient reaching the context layer", async () => {
    const { ds, m } = await subjectModel();
    const setup = stepSetup(m, ds, resolveTrainArgs({ contextSource: "stale-state" }));
    const s = prepareRows(setup, 8);
    const ids = m.item.ids.gatherRows(s.unique);
    const vars = m.context === undefined ? [] : contextLayerVariables(m.context);
    const { value, grads } = tf.variableGrads(() => stepLoss(setup, s, ids), vars);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    // The context layer's output weights [d categories + demographics + d subject, dc]: the
    // subject's rows (the last d) learn.
    const out = m.context?.out.w.name ?? "";
    const g = grads[out].arraySync() as number[][];
    const subjectRows = g.slice(g.length - config.encoder.dim).flat();
    expect(subjectRows.some((x) => x !== 0)).toBe(true);
    tf.dispose([value, ids, ...Object.values(grads)]);
    disposeModel(m);
  });

  it("is refused where the context is derived from the positive, and by the ONNX export", async () => {
    const { ds, m } = await subjectModel();
    let err: unknown;
    try {
      stepSetup(m, ds, resolveTrainArgs({}));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CtxrecError);
    expect((err as CtxrecError).message).toMatch(/stale-state/);
    expect(() => assertServable(m)).toThrow(/subject-item/);
    expect(isServable(m)).toBe(false); // so `ctxrec train` writes the weights and skips the export
    disposeModel(m);
  });
});
