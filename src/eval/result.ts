/**
 * The outcome of an evaluation: the JSON document `ctxrec eval --json` writes, a readable table,
 * and the atomic JSON writer.
 */
import { writeJsonAtomic } from "../core/atomicFile.ts";
import { wrapError } from "../core/errors.ts";
import type { Metrics } from "./metrics.ts";
import type { PairedGain } from "./pairedGain.ts";

/** Which leave-one-out target: the last event (test) or the second-to-last (validation). */
export type LooTarget = "test" | "validation";

export interface EvalResult {
  /** Evaluation protocol (DESIGN §6.1). */
  protocol: "loo";
  /** Which target was ranked. */
  target: LooTarget;
  /** Data set, `format:file` (see `datasetName`). */
  dataset: string;
  /** The scorer's name. */
  model: string;
  /** Means over users with the history removed from the candidates (the S3-Rec/ICLRec figure): hit@K, ndcg@K, mrr. */
  metrics: Metrics;
  /** The same with every item a candidate. */
  metricsUnfiltered: Metrics;
  /** Users evaluated (those with ≥ 3 events). */
  users: number;
  /** Users whose target repeats an item of their history (kept a candidate in the filtered ranking). */
  targetsInHistory: number;
  /**
   * A second scorer ranked on the same users (`compareLoo`, `ctxrec eval --versus`): its filtered
   * metrics and, per metric, the paired difference this model − that one with its 95% interval.
   */
  versus?: { model: string; metrics: Metrics; gains: Record<string, PairedGain> };
}

/** Metric names in table order: hit@K for each K, ndcg@K for each K, then mrr. */
function metricOrder(m: Metrics): string[] {
  const names = Object.keys(m);
  const byK = (prefix: string) =>
    names
      .filter((n) => n.startsWith(prefix))
      .sort((a, b) => Number(a.slice(prefix.length)) - Number(b.slice(prefix.length)));
  return [...byK("hit@"), ...byK("ndcg@"), ...names.filter((n) => !n.includes("@"))];
}

/** A readable table: one row per metric, filtered and unfiltered columns. */
export function formatEvalTable(r: EvalResult): string {
  const lines = [
    `protocol ${r.protocol} (${r.target} targets, full ranking, ties counted against the target)`,
    `data set ${r.dataset}, model ${r.model}, ${r.users.toLocaleString("en-US")} users ` +
      `(${r.targetsInHistory.toLocaleString("en-US")} targets repeat a history item)`,
    "",
    `${"metric".padEnd(9)} ${"filtered".padStart(10)} ${"unfiltered".padStart(11)}`,
  ];
  for (const name of metricOrder(r.metrics)) {
    const f = r.metrics[name].toFixed(4);
    const u = r.metricsUnfiltered[name]?.toFixed(4) ?? "-";
    lines.push(`${name.padEnd(9)} ${f.padStart(10)} ${u.padStart(11)}`);
  }
  lines.push("", "filtered: the user's history items are not candidates (the target always is)");
  const v = r.versus;
  if (v !== undefined) {
    lines.push(
      "",
      `versus ${v.model} on the same users (filtered; paired difference, normal 95% interval over users)`,
      `${"metric".padEnd(9)} ${"this".padStart(8)} ${"versus".padStart(8)} ${"Δ".padStart(8)}  95% interval`,
    );
    const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(4)}`;
    for (const name of metricOrder(r.metrics)) {
      const g = v.gains[name];
      if (g === undefined) continue;
      lines.push(
        `${name.padEnd(9)} ${r.metrics[name].toFixed(4).padStart(8)} ${(v.metrics[name] ?? 0).toFixed(4).padStart(8)} ` +
          `${signed(g.mean).padStart(8)}  [${signed(g.ci95[0])}, ${signed(g.ci95[1])}]`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

/** Writes `result` as JSON to `file` atomically (temp file, fsync, rename): a reader never sees half a file. */
export function writeEvalJson(file: string, result: EvalResult): void {
  try {
    writeJsonAtomic(file, result);
  } catch (err) {
    throw wrapError("CTXREC_ERR_ARG", err, "check that the folder of --json exists and is writable", {
      file,
    });
  }
}
