/**
 * The outcome of the `stale-context` protocol (`staleContext.ts`): the JSON document
 * `ctxrec eval --protocol stale-context --json` writes, a readable table, and paired gains with a
 * 95% interval (the four figures are measured on the same users, so the per-user differences are
 * what the interval is about).
 */
import { writeJsonAtomic } from "../core/atomicFile.ts";
import { wrapError } from "../core/errors.ts";
import { type Metrics, summarizeRanks } from "./metrics.ts";
import { type PairedGain, pairedGain } from "./pairedGain.ts";
import type { StaleSelection } from "./staleContext.ts";

/** How stale the cached state is. */
export type StaleSetting =
  /** State = the events with timestamp < target time − `seconds` (data with real timestamps). */
  | { kind: "cutoff"; seconds: number }
  /** State = all but the last `events` events before the target (S3-Rec data: positions, not times). */
  | { kind: "drop-last"; events: number };

/** The four figures of a setting (see staleContext.ts). */
export type StaleFigure = "baseline" | "contextual" | "fresh" | "contextualNoContext";
export const STALE_FIGURES: readonly StaleFigure[] = [
  "baseline",
  "contextual",
  "contextualNoContext",
  "fresh",
];

export interface StaleSettingResult {
  /** Readable name: "cutoff 24h", "drop-last 2". */
  setting: string;
  kind: StaleSetting["kind"];
  /** Δ in seconds (kind "cutoff"). */
  cutoffSeconds?: number;
  /** Events dropped from the end of the state (kind "drop-last"). */
  dropLast?: number;
  /** Users scored (all four figures are over these same users). */
  users: number;
  /** Users with ≥ 3 events (the `loo` test users) before the selection. */
  candidates: number;
  /** Candidates not scored: the context event is inside the state / the state is empty. */
  excluded: { contextInState: number; emptyState: number };
  /** Scored users whose subject item has no category (the contextual model gets "no context"). */
  contextWithoutCategories: number;
  /** Mean events in the stale state, and mean events after it up to the target (context included). */
  meanStateEvents: number;
  meanUnseenEvents: number;
  /** Filtered-ranking means (hit@K, ndcg@K, mrr) of each figure. */
  metrics: Record<StaleFigure, Metrics>;
  /** Paired gains of hit@K and ndcg@K: contextual − baseline, and contextual − contextualNoContext. */
  gains: { contextualVsBaseline: Record<string, PairedGain>; contextVsNoContext: Record<string, PairedGain> };
}

export interface StaleContextResult {
  protocol: "stale-context";
  /** Whose event is the target: each user's last ("test") or second-to-last ("validation"). */
  target: "test" | "validation";
  /** Data set, `format:file`. */
  dataset: string;
  /** Scorer names of the two models. */
  models: { baseline: string; contextual: string };
  /** Users of the first setting (the primary one). */
  users: number;
  /** Metrics of the first setting (the primary one), per figure. */
  metrics: Record<StaleFigure, Metrics>;
  /** One entry per setting of the sweep, in the order given. */
  settings: StaleSettingResult[];
}

/** Compact duration: 3600 → "1h", 86400 → "24h", 604800 → "7d", 90 → "90s". */
export function formatDuration(seconds: number): string {
  if (seconds % 86_400 === 0 && seconds >= 7 * 86_400) return `${seconds / 86_400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

export function settingName(s: StaleSetting): string {
  return s.kind === "cutoff" ? `cutoff ${formatDuration(s.seconds)}` : `drop-last ${s.events}`;
}

/** One setting's summary from its selection and per-user ranks. */
export function summarizeSetting(
  sel: StaleSelection,
  ranks: Record<StaleFigure, Int32Array>,
  ks: readonly number[],
): StaleSettingResult {
  const metrics = {} as Record<StaleFigure, Metrics>;
  for (const f of STALE_FIGURES) metrics[f] = summarizeRanks(ranks[f], ks);
  const names = ks.flatMap((k) => [`hit@${k}`, `ndcg@${k}`]);
  const gains = { contextualVsBaseline: {}, contextVsNoContext: {} } as StaleSettingResult["gains"];
  for (const name of names) {
    gains.contextualVsBaseline[name] = pairedGain(name, ranks.contextual, ranks.baseline);
    gains.contextVsNoContext[name] = pairedGain(name, ranks.contextual, ranks.contextualNoContext);
  }
  const s = sel.setting;
  return {
    setting: settingName(s),
    kind: s.kind,
    ...(s.kind === "cutoff" ? { cutoffSeconds: s.seconds } : { dropLast: s.events }),
    users: sel.users.length,
    candidates: sel.candidates,
    excluded: { contextInState: sel.contextInState, emptyState: sel.emptyState },
    contextWithoutCategories: sel.contextWithoutCategories,
    meanStateEvents: sel.meanStateEvents,
    meanUnseenEvents: sel.meanUnseenEvents,
    metrics,
    gains,
  };
}

const COLUMNS: [StaleFigure, string][] = [
  ["baseline", "baseline"],
  ["contextual", "contextual"],
  ["contextualNoContext", "ctx-no-ctx"],
  ["fresh", "fresh"],
];

const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(4)}`;

/** A readable table: per setting, who was scored and one row per metric, one column per figure. */
export function formatStaleTable(r: StaleContextResult): string {
  const count = (n: number) => n.toLocaleString("en-US");
  const lines = [
    `protocol stale-context (${r.target === "validation" ? "second-to-last (validation)" : "last"} event of each user, full ranking, history items filtered, ties counted against the target)`,
    `data set ${r.dataset}; baseline ${r.models.baseline}; contextual ${r.models.contextual}`,
  ];
  for (const s of r.settings) {
    lines.push(
      "",
      `${s.setting}: ${count(s.users)} of ${count(s.candidates)} users scored ` +
        `(${count(s.excluded.contextInState)} context event inside the state, ${count(s.excluded.emptyState)} empty state; ` +
        `${count(s.contextWithoutCategories)} subject items without categories); ` +
        `state ${s.meanStateEvents.toFixed(1)} events, ${s.meanUnseenEvents.toFixed(1)} unseen before the target`,
      `${"metric".padEnd(9)}${COLUMNS.map(([, h]) => h.padStart(12)).join("")}${"ctx−base".padStart(12)}  95% interval`,
    );
    for (const name of Object.keys(s.metrics.baseline)) {
      const cells = COLUMNS.map(([f]) => s.metrics[f][name].toFixed(4).padStart(12)).join("");
      const g = s.gains.contextualVsBaseline[name];
      const gain =
        g === undefined ? "" : `${signed(g.mean).padStart(12)}  [${signed(g.ci95[0])}, ${signed(g.ci95[1])}]`;
      lines.push(`${name.padEnd(9)}${cells}${gain}`);
    }
  }
  lines.push(
    "",
    "baseline: no-context model, stale state; contextual: contextual model, stale state + the event before the target as context;",
    "ctx-no-ctx: contextual model, stale state, no context; fresh: no-context model on the full history (upper reference)",
  );
  return `${lines.join("\n")}\n`;
}

/** Writes `result` as JSON to `file` atomically. */
export function writeStaleJson(file: string, result: StaleContextResult): void {
  try {
    writeJsonAtomic(file, result);
  } catch (err) {
    throw wrapError("CTXREC_ERR_ARG", err, "check that the folder of --json exists and is writable", {
      file,
    });
  }
}
