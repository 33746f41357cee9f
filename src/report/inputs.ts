/**
 * What `ctxrec report` reads: one zod schema per kind of result file, the TypeScript types the
 * report code uses, and `parseInput`, which validates a file's JSON and names the file and the
 * field when it does not fit.
 *
 * The schemas accept the documents the other commands write (src/eval/result.ts,
 * src/eval/staleResult.ts, src/funnel/sweep.ts, bench/quality.ts, bench/serve.ts) and ignore
 * fields they do not need, so a producer may add fields without breaking the report; a field the
 * report draws from that is missing or of the wrong type is an error.
 *
 * The ablation rows (`AblationRow`, `AblationsFile`) are what the report reads from
 * `npm run bench:ablations`; its writer's types (src/pipeline/ablationRows.ts) must stay assignable
 * to these, which src/report/inputs.test.ts checks at compile time.
 */
import { z } from "zod";
import { CtxrecError } from "../core/errors.ts";

/** A metric table such as `{"hit@10": 0.07, "ndcg@10": 0.04, "mrr": 0.03}`. */
const metricsSchema = z.record(z.string(), z.number());

// ------------------------------------------------------------------ ctxrec eval --protocol loo --json

/** `ctxrec eval --protocol loo --json FILE` (src/eval/result.ts `EvalResult`). */
export const looSchema = z.object({
  protocol: z.literal("loo"),
  target: z.string().optional(),
  dataset: z.string(),
  /** Scorer name: `ctxrec@<version>` (contextual), `ctxrec-baseline@<version>`, or a reference scorer. */
  model: z.string(),
  metrics: metricsSchema,
  metricsUnfiltered: metricsSchema.optional(),
  users: z.number(),
});
export type LooInput = z.infer<typeof looSchema>;

// ------------------------------------------------------------------ --protocol stale-context --json

const staleFigureMetrics = z.object({
  baseline: metricsSchema,
  contextual: metricsSchema,
  fresh: metricsSchema,
  contextualNoContext: metricsSchema.optional(),
});
const pairedGainSchema = z.object({ mean: z.number(), ci95: z.tuple([z.number(), z.number()]) });

/** `ctxrec eval --protocol stale-context --json FILE` (src/eval/staleResult.ts `StaleContextResult`). */
export const staleSchema = z.object({
  protocol: z.literal("stale-context"),
  dataset: z.string(),
  models: z.object({ baseline: z.string(), contextual: z.string() }).optional(),
  users: z.number(),
  settings: z
    .array(
      z.object({
        setting: z.string(),
        kind: z.enum(["cutoff", "drop-last"]),
        cutoffSeconds: z.number().optional(),
        dropLast: z.number().optional(),
        users: z.number(),
        metrics: staleFigureMetrics,
        gains: z
          .object({
            contextualVsBaseline: z.record(z.string(), pairedGainSchema),
            contextVsNoContext: z.record(z.string(), pairedGainSchema).optional(),
          })
          .optional(),
      }),
    )
    .min(1),
});
export type StaleInput = z.infer<typeof staleSchema>;

// ------------------------------------------------------------------ ctxrec funnel-sweep (sweep.json)

/** A mean with its 95% interval over seeds (src/funnel/interval.ts); null where nothing was measured. */
const intervalSchema = z.object({
  mean: z.number().nullable(),
  low: z.number().nullable(),
  high: z.number().nullable(),
  n: z.number(),
});
export type IntervalInput = z.infer<typeof intervalSchema>;

/** `ctxrec funnel-sweep … --out DIR` → DIR/sweep.json (src/funnel/sweep.ts `FunnelSweepResult`). */
export const sweepSchema = z.object({
  protocol: z.literal("funnel-sweep"),
  preset: z.string().optional(),
  rs: z.array(z.number()).min(1),
  seeds: z.array(z.number()),
  k: z.number(),
  surfaces: z.array(z.string()),
  cgs: z.array(z.string()),
  /** summary[surface][String(r)][cg][metric]. */
  summary: z.record(
    z.string(),
    z.record(z.string(), z.record(z.string(), z.record(z.string(), intervalSchema))),
  ),
  /** lift[surface][String(r)][recall_ratio | relevance_lift_pct | relevance_mean_lift_pct | delivered_ratio]. */
  lift: z.record(z.string(), z.record(z.string(), z.record(z.string(), intervalSchema))).optional(),
});
export type SweepInput = z.infer<typeof sweepSchema>;

// ------------------------------------------------------------------ npm run bench:quality

/** `bench/results/quality.json` (bench/quality.ts): one row per (dataset, variant). */
export const qualitySchema = z.object({
  protocol: z.string().optional(),
  rows: z.array(
    z.object({
      dataset: z.string(),
      /** "context" (ours), "baseline" (no context layer) or a reference such as "cooccurrence(window=3)". */
      variant: z.string(),
      metrics: metricsSchema,
      validationNdcg10: z.number().nullish(),
      epochs: z.number().optional(),
      bestEpoch: z.number().optional(),
      stopReason: z.string().optional(),
      trainMinutes: z.number().optional(),
      seed: z.number().optional(),
      machine: z.string().optional(),
      date: z.string().optional(),
    }),
  ),
});
export type QualityInput = z.infer<typeof qualitySchema>;

// ------------------------------------------------------------------ npm run bench:serve

/** `bench/results/serve.json` / `serve-quick.json` (bench/serve.ts). */
export const serveSchema = z.object({
  date: z.string().optional(),
  machine: z
    .object({
      cpus: z.number().optional(),
      model: z.string().optional(),
      loadavgStart: z.array(z.number()).optional(),
      loadavgEnd: z.array(z.number()).optional(),
    })
    .optional(),
  modelVersion: z.string().optional(),
  /** The online tower alone (ONNX Runtime, batch 1), in microseconds. */
  onlineTower: z.object({ p50Us: z.number(), p99Us: z.number(), runs: z.number().optional() }).optional(),
  /** ANN search per (items, ef), in microseconds. */
  ann: z
    .array(
      z.object({
        n: z.number(),
        ef: z.number(),
        recallAt10: z.number(),
        p50Us: z.number(),
        p99Us: z.number(),
        buildSeconds: z.number().optional(),
      }),
    )
    .default([]),
  /** HTTP end to end per (store, offered rate), in milliseconds. */
  http: z
    .array(
      z.object({
        store: z.string(),
        rate: z.union([z.number(), z.literal("max")]),
        connections: z.number().optional(),
        throughput: z.number(),
        p50Ms: z.number(),
        p99Ms: z.number(),
        p999Ms: z.number(),
        p99FromScheduleMs: z.number().nullish(),
        errors: z.number().optional(),
      }),
    )
    .default([]),
});
export type ServeInput = z.infer<typeof serveSchema>;

// ------------------------------------------------------------------ npm run bench:ablations

/**
 * One measured ablation cell: the contract between `npm run bench:ablations` (the writer) and the
 * report (the reader). Optional numbers may also be `null` (JSON has no NaN).
 */
export interface AblationRow {
  /** What is varied: "context dropout", "pseudo-context projection", "corruption", "whole-context dropout", "fusion", "staleness". */
  group: string;
  /** The setting of that knob in this row: "0.5", "mean", "on", "cross-attention", "drop-last 2". */
  variant: string;
  /** Metric name as in the eval JSON: "ndcg@10", "hit@10", or a funnel metric such as "recall@100". */
  metric: string;
  /** The metric's mean over seeds for this variant. */
  value: number;
  /** 95% interval of `value` (omit with a single seed). */
  low?: number | null;
  high?: number | null;
  /** value − the group's default variant's value (0 / omitted on the default row itself). */
  delta?: number | null;
  /** 95% interval of `delta` (paired over seeds or users where the writer can pair them). */
  deltaLow?: number | null;
  deltaHigh?: number | null;
}

export const ablationRowSchema = z.object({
  group: z.string().min(1),
  variant: z.string(),
  metric: z.string().min(1),
  value: z.number(),
  low: z.number().nullish(),
  high: z.number().nullish(),
  delta: z.number().nullish(),
  deltaLow: z.number().nullish(),
  deltaHigh: z.number().nullish(),
});

/**
 * `bench/results/ablations.json`: `{ rows: AblationRow[] }` plus optional provenance that the
 * report prints when present. bench/ablations.ts writes src/pipeline/ablationRows.ts
 * `AblationsFile`, which is assignable to this type (src/report/inputs.test.ts checks it).
 */
export interface AblationsFile {
  rows: AblationRow[];
  /** "ablations". */
  bench?: string;
  /** Synthetic world preset. */
  preset?: string;
  seeds?: number[];
  /** Training budget per run. */
  minutesPerRun?: number;
  epochs?: number;
  /** Bootstrap resamples behind the intervals. */
  resamples?: number;
  /** Primary staleness cut-off of the `stale/…` metrics, in seconds. */
  staleCutoffSeconds?: number;
  machine?: { cpus?: number; loadAverage?: number[] };
  createdAt?: string;
}

export const ablationsSchema = z.object({
  rows: z.array(ablationRowSchema),
  bench: z.string().optional(),
  preset: z.string().optional(),
  seeds: z.array(z.number()).optional(),
  minutesPerRun: z.number().optional(),
  epochs: z.number().optional(),
  resamples: z.number().optional(),
  staleCutoffSeconds: z.number().optional(),
  machine: z.object({ cpus: z.number().optional(), loadAverage: z.array(z.number()).optional() }).optional(),
  createdAt: z.string().optional(),
});

// The writer's type and the schema must agree: a compile-time check in both directions.
type Parsed = z.infer<typeof ablationsSchema>;
const _ablationsAgree: [
  Parsed extends AblationsFile ? true : never,
  AblationsFile extends Parsed ? true : never,
] = [true, true];
void _ablationsAgree;

// ------------------------------------------------------------------ ctxrec eval --protocol funnel --json

const nullableNumber = z.number().nullable();

/**
 * `ctxrec eval --protocol funnel --json FILE` (and the demo's funnel.json): one funnel run, per
 * surface the metrics of every CG and the contextual/baseline lift.
 */
export const funnelSchema = z.object({
  protocol: z.literal("funnel"),
  world: z.string().optional(),
  k: z.number(),
  seed: z.number().optional(),
  surfaces: z.record(
    z.string(),
    z.object({
      requests: z.number().optional(),
      impressions: z.number().optional(),
      /** metrics[cg]: recall@K, relevance_median, survival_impression_share, survival_delivered_share (null: not measurable). */
      metrics: z.record(z.string(), z.record(z.string(), nullableNumber)),
      lift: z.record(z.string(), nullableNumber).optional(),
    }),
  ),
});
export type FunnelInput = z.infer<typeof funnelSchema>;

// ------------------------------------------------------------------ validation

/** The kinds of input, their schemas and parsed types. */
export const INPUT_SCHEMAS = {
  loo: looSchema,
  stale: staleSchema,
  sweep: sweepSchema,
  funnel: funnelSchema,
  quality: qualitySchema,
  serve: serveSchema,
  ablations: ablationsSchema,
} as const;
export type InputKind = keyof typeof INPUT_SCHEMAS;
export type ParsedInput<K extends InputKind> = z.infer<(typeof INPUT_SCHEMAS)[K]>;

/** The value at `path` inside `root` (undefined where the path leaves the document). */
function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

/** `rows[3].metrics.hit@10` from a zod issue path. */
function fieldName(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path)
    out += typeof key === "number" ? `[${key}]` : `${out === "" ? "" : "."}${String(key)}`;
  return out === "" ? "(document)" : out;
}

/** A short rendering of a bad value for an error message. */
function preview(v: unknown): string {
  if (v === undefined) return "nothing (the field is missing)";
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/**
 * Parses `text` (the contents of `file`) as a `kind` input.
 * Throws CTXREC_ERR_DATA_ENCODING when the text is not JSON and CTXREC_ERR_DATA_BAD_ROW naming the
 * file, the field path and the bad value when the document does not fit the schema.
 */
export function parseInput<K extends InputKind>(kind: K, file: string, text: string): ParsedInput<K> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_ENCODING",
      `not valid JSON (${(err as Error).message}); rerun the command that wrote it, or remove the file from the runs folder`,
      { file },
    );
  }
  const result = INPUT_SCHEMAS[kind].safeParse(raw);
  if (result.success) return result.data as ParsedInput<K>;
  const issue = result.error.issues[0];
  throw new CtxrecError(
    "CTXREC_ERR_DATA_BAD_ROW",
    `${issue.message}; found ${preview(valueAt(raw, issue.path))} — this does not look like a ${kind} result ` +
      `(see docs/report.md for the file names read and their shapes); rerun the command that wrote it or rename the file`,
    { file, field: fieldName(issue.path) },
  );
}
