/**
 * The ablation grid (issue #6): every variant differs from the defaults of `ctxrec train`
 * (MODEL_DEFAULTS, TRAIN_DEFAULTS) in ONE setting. Variants whose setting equals the default share
 * the default run; the staleness group re-evaluates the default model at other cut-offs, and the
 * reference group is the `--no-context` baseline (which stale-context needs anyway).
 */
import { formatDuration } from "../eval/staleResult.ts";
import { MODEL_DEFAULTS, type ModelConfigOverrides } from "../model/config.ts";
import { NO_CORRUPTION } from "../train/context.ts";
import { TRAIN_DEFAULTS, type TrainArgsOverrides } from "../train/trainArgs.ts";

/** One trained configuration (besides the seed and the budget, which the bench sets). */
export interface AblationConfig {
  /** false: the baseline (no context layer). */
  contextual: boolean;
  model?: ModelConfigOverrides;
  train?: TrainArgsOverrides;
}

/** One row group entry: which configuration and which stale cut-off its figures come from. */
export interface AblationVariant {
  group: string;
  variant: string;
  /** Key of the trained configuration (`DEFAULT_KEY` for the default model). */
  key: string;
  /** Stale-context cut-off in seconds (PRIMARY_CUTOFF except in the staleness group). */
  cutoff: number;
  /** Whether this row is the group's reference point (deltas are against it). */
  isDefault: boolean;
}

export const DEFAULT_KEY = "default";
export const BASELINE_KEY = "baseline";
/** The primary staleness: a daily batch leaves a state up to 24 h old. */
export const PRIMARY_CUTOFF = 86_400;
/** Cut-offs of the staleness group (seconds). */
export const STALENESS_CUTOFFS = [3600, 86_400, 7 * 86_400, 30 * 86_400] as const;

/** Every trained configuration, by key. */
export function ablationConfigs(): Map<string, AblationConfig> {
  const m = new Map<string, AblationConfig>();
  m.set(DEFAULT_KEY, { contextual: true });
  m.set(BASELINE_KEY, { contextual: false });
  for (const d of [0, 0.3, 0.5, 0.8])
    m.set(`context-dropout=${d}`, { contextual: true, model: { context: { dropout: d } } });
  for (const p of ["mean", "sum", "attention", "learned"] as const) {
    m.set(`projection=${p}`, { contextual: true, model: { context: { projection: p } } });
  }
  m.set("corruption=off", {
    contextual: true,
    train: {
      pseudoContext: {
        jitter: NO_CORRUPTION.jitter,
        dropCategory: NO_CORRUPTION.dropCategory,
        swapRelated: NO_CORRUPTION.swapRelated,
      },
    },
  });
  for (const w of [0, 0.2, 0.5]) {
    m.set(`whole-context-dropout=${w}`, {
      contextual: true,
      train: { pseudoContext: { wholeContextDropout: w } },
    });
  }
  m.set("no-context-loss=0", { contextual: true, train: { noContextWeight: 0, contextLossScope: "all" } });
  m.set("no-context-loss=1,all", {
    contextual: true,
    train: { noContextWeight: 1, contextLossScope: "all" },
  });
  m.set("no-context-loss=1,context", {
    contextual: true,
    train: { noContextWeight: 1, contextLossScope: "context" },
  });
  m.set("fusion=cross-attention", { contextual: true, model: { fusion: { kind: "cross-attention" } } });
  return m;
}

/** A key whose configuration equals the default one maps to `DEFAULT_KEY` (trained once). */
function keyOrDefault(key: string, isDefaultSetting: boolean): string {
  return isDefaultSetting ? DEFAULT_KEY : key;
}

/** The rows of the grid, group by group, the default first in each group. */
export function ablationVariants(): AblationVariant[] {
  const md = MODEL_DEFAULTS;
  const td = TRAIN_DEFAULTS;
  const out: AblationVariant[] = [];
  const add = (group: string, variant: string, key: string, isDefault: boolean, cutoff = PRIMARY_CUTOFF) =>
    out.push({ group, variant: isDefault ? `${variant} (default)` : variant, key, cutoff, isDefault });
  const group = <T>(name: string, values: readonly T[], def: T, keyOf: (v: T) => string) => {
    for (const v of [def, ...values.filter((x) => x !== def)]) {
      add(name, String(v), keyOrDefault(keyOf(v), v === def), v === def);
    }
  };
  group("context dropout", [0, 0.3, 0.5, 0.8], md.context.dropout, (d) => `context-dropout=${d}`);
  group(
    "projection",
    ["mean", "sum", "attention", "learned"],
    md.context.projection,
    (p) => `projection=${p}`,
  );
  group("corruption", ["on", "off"], "on", (c) => `corruption=${c}`);
  group(
    "whole-context dropout",
    [0, 0.2, 0.5],
    td.pseudoContext.wholeContextDropout,
    (w) => `whole-context-dropout=${w}`,
  );
  const lossDefault = `w=${td.noContextWeight}, scope ${td.contextLossScope}`;
  group("no-context loss", ["w=0, scope all", "w=1, scope all", "w=1, scope context"], lossDefault, (v) =>
    v === "w=0, scope all"
      ? "no-context-loss=0"
      : v === "w=1, scope all"
        ? "no-context-loss=1,all"
        : "no-context-loss=1,context",
  );
  group("fusion", ["concat", "cross-attention"], md.fusion.kind, (f) => `fusion=${f}`);
  for (const c of [PRIMARY_CUTOFF, ...STALENESS_CUTOFFS.filter((x) => x !== PRIMARY_CUTOFF)]) {
    add("staleness", `cutoff ${formatDuration(c)}`, DEFAULT_KEY, c === PRIMARY_CUTOFF, c);
  }
  add("reference", "contextual", DEFAULT_KEY, true);
  add("reference", "baseline (--no-context)", BASELINE_KEY, false);
  return out;
}

/** The keys the grid needs trained (each once per seed). */
export function requiredKeys(variants: readonly AblationVariant[]): string[] {
  return [...new Set(variants.map((v) => v.key))];
}
