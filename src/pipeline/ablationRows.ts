/**
 * The rows of `bench/results/ablations.json` (`npm run bench:ablations`), the input the report's
 * ablation table reads. One row per (group, variant, metric): the variant's value with its 95%
 * interval, and its difference from the default configuration with the interval of that difference.
 * (Defined here because src/report/ did not exist yet; src/report/inputs.ts should import or
 * mirror this type.)
 */

/** Metric names of the rows: `loo/…` = no context, `stale/…` = stale state + real context (24 h default). */
export const ABLATION_METRICS = ["loo/ndcg@10", "loo/hit@10", "stale/ndcg@10", "stale/hit@10"] as const;
export type AblationMetric = (typeof ABLATION_METRICS)[number];

export interface AblationRow {
  /** The setting varied, e.g. "context dropout", "projection", "fusion", "staleness". */
  group: string;
  /** The value of that setting in this row, e.g. "0.3", "attention"; the default is marked "(default)". */
  variant: string;
  /** One of ABLATION_METRICS. */
  metric: AblationMetric;
  /** Mean over seeds of the mean over users. */
  value: number;
  /** 95% interval of `value` (percentile bootstrap over users, stratified by seed). */
  low?: number;
  high?: number;
  /** value − the default's value (absent on the default row itself). */
  delta?: number;
  /** 95% interval of `delta` (paired bootstrap over the same users when both rows score the same users). */
  deltaLow?: number;
  deltaHigh?: number;
}

/** How one configuration trained on one seed. */
export interface AblationTraining {
  /** Key of the trained configuration (see ablationVariants.ts `runKey`). */
  key: string;
  seed: number;
  epochs: number;
  bestEpoch: number;
  stopReason: string;
  trainMinutes: number;
}

/** What one trained configuration did on one seed (summaries only; per-user ranks live in the cache file). */
export interface AblationRunInfo extends AblationTraining {
  /** Users of the loo and of the primary stale-context figure. */
  looUsers: number;
  staleUsers: number;
}

/** The document `bench/results/ablations.json`. */
export interface AblationsFile {
  bench: "ablations";
  /** World preset, seeds and the per-run training budget. */
  preset: string;
  seeds: number[];
  minutesPerRun: number;
  epochs: number;
  /** Bootstrap resamples behind every interval. */
  resamples: number;
  /** Primary staleness cut-off of the `stale/…` metrics, in seconds. */
  staleCutoffSeconds: number;
  /** Machine and load while the bench ran (figures depend on the budget reached). */
  machine: { cpus: number; loadAverage: number[] };
  createdAt: string;
  rows: AblationRow[];
  runs: AblationRunInfo[];
  /** Configurations not trained for every seed yet (their rows are absent; a rerun resumes them). */
  notRun?: string[];
}
