import { describe, expect, it } from "vitest";
import { MODEL_DEFAULTS, resolveModelConfig } from "../model/config.ts";
import { resolveTrainArgs } from "../train/trainArgs.ts";
import {
  ablationConfigs,
  ablationVariants,
  BASELINE_KEY,
  DEFAULT_KEY,
  PRIMARY_CUTOFF,
  requiredKeys,
} from "./ablationVariants.ts";

/** Flattened (path → value) of the resolved model config and train args of a configuration. */
function settingsOf(key: string): Map<string, unknown> {
  const c = ablationConfigs().get(key);
  if (c === undefined) throw new Error(key);
  const model = resolveModelConfig({ ...c.model, context: { ...c.model?.context, enabled: c.contextual } });
  const train = resolveTrainArgs(c.train);
  const out = new Map<string, unknown>();
  const walk = (prefix: string, x: unknown) => {
    if (x !== null && typeof x === "object" && !Array.isArray(x)) {
      for (const [k, v] of Object.entries(x)) walk(`${prefix}.${k}`, v);
    } else out.set(prefix, x);
  };
  walk("model", model);
  walk("train", train);
  return out;
}

describe("ablation grid", () => {
  const variants = ablationVariants();

  it("each group starts with exactly one default row, on the default model (or the default cut-off)", () => {
    for (const group of new Set(variants.map((v) => v.group))) {
      const rows = variants.filter((v) => v.group === group);
      expect(rows[0].isDefault, group).toBe(true);
      expect(rows.filter((v) => v.isDefault)).toHaveLength(1);
      expect(rows[0].key).toBe(DEFAULT_KEY);
      expect(rows[0].cutoff).toBe(PRIMARY_CUTOFF);
      // Only the staleness group varies the cut-off.
      if (group !== "staleness") for (const r of rows) expect(r.cutoff).toBe(PRIMARY_CUTOFF);
    }
  });

  it("every trained variant differs from the default configuration in exactly ONE setting", () => {
    const base = settingsOf(DEFAULT_KEY);
    for (const key of requiredKeys(variants)) {
      if (key === DEFAULT_KEY || key === BASELINE_KEY) continue;
      const s = settingsOf(key);
      const diff = [...s].filter(([k, v]) => base.get(k) !== v).map(([k]) => k);
      // Corruption off turns its three knobs (jitter, drop, swap) off together: one setting.
      if (key === "corruption=off") {
        expect(diff.sort()).toEqual([
          "train.pseudoContext.dropCategory",
          "train.pseudoContext.jitter",
          "train.pseudoContext.swapRelated",
        ]);
      } else if (key.startsWith("no-context-loss=")) {
        // scope "context" needs w > 0, so the loss is one setting with two fields (w, scope):
        // a variant changes one or both of them and nothing else.
        expect(diff.length, key).toBeGreaterThanOrEqual(1);
        for (const d of diff) expect(["train.contextLossScope", "train.noContextWeight"]).toContain(d);
      } else {
        expect(diff, key).toHaveLength(1);
      }
    }
  });

  it("covers the issue's settings, the staleness sweep and the baseline, training each configuration once", () => {
    const groups = [...new Set(variants.map((v) => v.group))];
    expect(groups).toEqual([
      "context dropout",
      "projection",
      "corruption",
      "whole-context dropout",
      "no-context loss",
      "fusion",
      "staleness",
      "reference",
    ]);
    expect(variants.filter((v) => v.group === "context dropout").map((v) => v.variant)).toEqual([
      `${MODEL_DEFAULTS.context.dropout} (default)`,
      ...["0", "0.3", "0.5", "0.8"].filter((d) => Number(d) !== MODEL_DEFAULTS.context.dropout),
    ]);
    // default + baseline + 3 dropouts + 3 projections + corruption off + 2 whole-context dropouts
    // + 2 no-context losses + cross-attention = 14 trainings per seed.
    expect(requiredKeys(variants)).toHaveLength(14);
    expect(variants.filter((v) => v.group === "staleness").map((v) => v.cutoff)).toEqual([
      86_400, 3600, 604_800, 2_592_000,
    ]);
  });
});
