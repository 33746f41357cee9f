/**
 * The options that shape how the contextual model learns to use its context: the context layer
 * (dropout, projection) and the pseudo-context losses (whole-context dropout, the no-context loss
 * and its scope). Shared by `ctxrec train` and `ctxrec funnel-sweep` so that a sweep can be rerun
 * with exactly the settings an ablation row names; defaults are TRAIN_DEFAULTS / MODEL_DEFAULTS.
 */
import { type Command, Option } from "commander";
import { CONTEXT_PROJECTIONS, MODEL_DEFAULTS, type ModelConfigOverrides } from "../model/config.ts";
import {
  CONTEXT_SOURCES,
  type ContextSource,
  TRAIN_DEFAULTS as D,
  type TrainArgsOverrides,
} from "../train/trainArgs.ts";
import { toNumber, toOptionalNumber } from "./numbers.ts";

/** Raw commander values of the context-training options. */
export interface ContextTrainingOptionValues {
  contextDropout?: string;
  projection?: (typeof CONTEXT_PROJECTIONS)[number];
  wholeContextDropout: string;
  contextlessWeight: string;
  contextLossScope: string;
  contextSource: ContextSource;
  maxStaleness: string;
  subjectItem?: boolean;
}

/** Adds the context-training options to `cmd` (returns it for chaining). */
export function addContextTrainingOptions(cmd: Command): Command {
  return cmd
    .option("--context-dropout <rate>", `context layer dropout (default ${MODEL_DEFAULTS.context.dropout})`)
    .addOption(
      new Option("--projection <kind>", "context category projection").choices([...CONTEXT_PROJECTIONS]),
    )
    .option(
      "--whole-context-dropout <rate>",
      "share of examples trained with no pseudo-context",
      String(D.pseudoContext.wholeContextDropout),
    )
    .option(
      "--contextless-weight <w>",
      "weight of a second, no-context loss on every example (0 = off)",
      String(D.noContextWeight),
    )
    .addOption(
      new Option(
        "--context-loss-scope <scope>",
        "what the with-context loss trains: all weights, or the context layer and head rows only (needs --contextless-weight > 0)",
      )
        .choices(["all", "context"])
        .default(D.contextLossScope),
    )
    .addOption(
      new Option(
        "--context-source <source>",
        "with-context loss: the fresh state + a pseudo-context from the positive, or a state up to --max-staleness events old + the latest item's categories",
      )
        .choices([...CONTEXT_SOURCES])
        .default(D.contextSource),
    )
    .option(
      "--max-staleness <events>",
      "largest staleness drawn under --context-source stale-state",
      String(D.maxStaleness),
    )
    .option(
      "--subject-item",
      "context layer: the subject item's own vector beside its categories (needs --context-source stale-state; not exportable to ONNX yet)",
    );
}

/** The context layer's model overrides from the flags that were given. */
export function contextModelOverrides(
  o: ContextTrainingOptionValues,
): NonNullable<ModelConfigOverrides["context"]> {
  const dropout = toOptionalNumber(o.contextDropout, "--context-dropout");
  return {
    ...(dropout === undefined ? {} : { dropout }),
    ...(o.projection === undefined ? {} : { projection: o.projection }),
    ...(o.subjectItem === true ? { subjectItem: true } : {}),
  };
}

/** The pseudo-context loss settings as training-argument overrides. */
export function contextTrainOverrides(
  o: ContextTrainingOptionValues,
): Pick<
  TrainArgsOverrides,
  "noContextWeight" | "contextLossScope" | "pseudoContext" | "contextSource" | "maxStaleness"
> {
  return {
    noContextWeight: toNumber(o.contextlessWeight, "--contextless-weight"),
    contextLossScope: o.contextLossScope as "all" | "context",
    contextSource: o.contextSource,
    maxStaleness: toNumber(o.maxStaleness, "--max-staleness"),
    pseudoContext: { wholeContextDropout: toNumber(o.wholeContextDropout, "--whole-context-dropout") },
  };
}
