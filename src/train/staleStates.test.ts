import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../core/rng.ts";
import { initEngine } from "../engine/backend.ts";
import { resolveModelConfig } from "../model/config.ts";
import { contextLayerVariables } from "../model/contextLayer.ts";
import { itemFeaturesOf } from "../model/itemFeatures.ts";
import { createModel, disposeModel } from "../model/model.ts";
import { toyWorld } from "../model/testWorld.ts";
import { vocabSizesOf } from "../model/vocabSizes.ts";
import { contextFromItems } from "./context.ts";
import { type StepInput, stepLoss, stepSetup } from "./step.ts";
import { prepareRows } from "./stepTesting.ts";
import { resolveTrainArgs } from "./trainArgs.ts";

beforeAll(async () => {
  await initEngine();
});

const config = resolveModelConfig({
  encoder: { dim: 16, heads: 2, ffn: 32, maxLen: 12, dropout: 0.1 },
  context: { dim: 16 },
  fusion: { hidden: 16 },
});

/** Staleness of every real slot (t − the slot it reads), or −1 where the slot has weight 0. */
function staleness(s: StepInput): number[] {
  const stale = s.stale as NonNullable<StepInput["stale"]>;
  return Array.from(s.real, (j, r) => (stale.weights[r] === 0 ? -1 : j - stale.from[j]));
}

describe("stale-state context training (contextSource 'stale-state')", () => {
  it("reads a state 0..maxStaleness slots earlier in the same row, with the latest item's categories", async () => {
    const ds = await toyWorld({ users: 40 });
    const m = createModel(config, vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(1));
    const args = resolveTrainArgs({ contextSource: "stale-state", maxStaleness: 3 });
    const setup = stepSetup(m, ds, args);
    const s = prepareRows(setup, 16);
    const stale = s.stale as NonNullable<StepInput["stale"]>;
    const L = s.seq.len;
    const seen = new Set<number>();
    s.real.forEach((j, r) => {
      const t = j % L;
      if (stale.weights[r] === 0) {
        expect(t).toBeLessThan(3); // only a slot with fewer than maxStaleness events before it
        return;
      }
      const lag = j - stale.from[j];
      expect(lag).toBeGreaterThanOrEqual(0);
      expect(lag).toBeLessThanOrEqual(3);
      expect(lag).toBeLessThanOrEqual(t); // the same row, never before its first slot
      seen.add(lag);
    });
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
    // The context: the real, uncorrupted categories of each slot's own input item.
    const expected = contextFromItems(s.seq.items, ds, args.pseudoContext.k);
    const ctx = s.context?.input;
    expect(ctx?.catIds).toEqual(expected.catIds);
    expect(ctx?.weights).toEqual(expected.weights);
    disposeModel(m);
  });

  it("draws a row's staleness from its key: the same whichever rows share its batch", async () => {
    const ds = await toyWorld({ users: 40 });
    const m = createModel(config, vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(1));
    const args = resolveTrainArgs({ contextSource: "stale-state" });
    const setup = stepSetup(m, ds, args);
    const whole = prepareRows(setup, 4, 5);
    const part = prepareRows(setup, 2, 5, Int32Array.from([2, 3]));
    const rowLags = (s: StepInput, b: number) =>
      staleness(s).filter((_, r) => Math.floor(s.real[r] / s.seq.len) === b);
    expect(rowLags(part, 0)).toEqual(rowLags(whole, 2));
    expect(rowLags(part, 1)).toEqual(rowLags(whole, 3));
    disposeModel(m);
  });

  it("trains: a finite loss whose with-context part reaches the context layer", async () => {
    const ds = await toyWorld({ users: 40 });
    const m = createModel(config, vocabSizesOf(ds), itemFeaturesOf(ds), new Rng(1));
    const args = resolveTrainArgs({ contextSource: "stale-state" });
    const setup = stepSetup(m, ds, args);
    const s = prepareRows(setup, 8);
    const ids = m.item.ids.gatherRows(s.unique);
    const contextVars = m.context === undefined ? [] : contextLayerVariables(m.context);
    expect(contextVars.length).toBeGreaterThan(0);
    const { value, grads } = tf.variableGrads(() => stepLoss(setup, s, ids), contextVars);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    const norm = Object.values(grads).reduce((a, g) => a + tf.sum(tf.abs(g)).dataSync()[0], 0);
    expect(norm).toBeGreaterThan(0);
    tf.dispose([value, ids, ...Object.values(grads)]);
    disposeModel(m);
  });

  it("refuses an unknown source and a largest staleness below 1", () => {
    // @ts-expect-error: a bad value from an untyped caller
    expect(() => resolveTrainArgs({ contextSource: "target" })).toThrow(/contextSource/);
    expect(() => resolveTrainArgs({ maxStaleness: 0 })).toThrow(/maxStaleness/);
  });
});
