import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { TRAIN_DEFAULTS } from "../train/trainArgs.ts";
import {
  addContextTrainingOptions,
  type ContextTrainingOptionValues,
  contextModelOverrides,
  contextTrainOverrides,
} from "./contextTrainingOptions.ts";

/** The option values commander parses from `argv` (no action, no exit). */
function parse(argv: string[]): ContextTrainingOptionValues {
  const cmd = addContextTrainingOptions(new Command("x").exitOverride());
  cmd.parse(argv, { from: "user" });
  return cmd.opts<ContextTrainingOptionValues>();
}

describe("context-training options (train, funnel-sweep)", () => {
  it("default to TRAIN_DEFAULTS and leave the model's context settings alone", () => {
    const o = parse([]);
    expect(contextModelOverrides(o)).toEqual({});
    expect(contextTrainOverrides(o)).toEqual({
      noContextWeight: TRAIN_DEFAULTS.noContextWeight,
      contextLossScope: TRAIN_DEFAULTS.contextLossScope,
      contextSource: TRAIN_DEFAULTS.contextSource,
      maxStaleness: TRAIN_DEFAULTS.maxStaleness,
      pseudoContext: { wholeContextDropout: TRAIN_DEFAULTS.pseudoContext.wholeContextDropout },
    });
  });

  it("map every flag to its setting", () => {
    const o = parse([
      "--context-dropout",
      "0.3",
      "--projection",
      "sum",
      "--whole-context-dropout",
      "0.2",
      "--contextless-weight",
      "2",
      "--context-loss-scope",
      "all",
      "--context-source",
      "stale-state",
      "--max-staleness",
      "2",
    ]);
    expect(contextModelOverrides(o)).toEqual({ dropout: 0.3, projection: "sum" });
    expect(contextTrainOverrides(o)).toEqual({
      noContextWeight: 2,
      contextLossScope: "all",
      contextSource: "stale-state",
      maxStaleness: 2,
      pseudoContext: { wholeContextDropout: 0.2 },
    });
  });

  it("refuse a scope outside all|context and name a flag that is not a number", () => {
    expect(() => parse(["--context-loss-scope", "head"])).toThrow(/context-loss-scope/);
    expect(() => parse(["--context-source", "target"])).toThrow(/context-source/);
    expect(() => contextTrainOverrides(parse(["--contextless-weight", "two"]))).toThrow(/not a number/);
    expect(() => contextModelOverrides(parse(["--context-dropout", "x"]))).toThrow(
      expect.objectContaining({ location: { param: "--context-dropout" } }),
    );
  });
});
