/**
 * The `stale-context` protocol (DESIGN §6.2): does a real request context make up for a stale
 * cached state? For each user with ≥ 3 events (the `loo` test users) the target is the LAST event,
 * as in `loo` (or, with `target: "validation"`, the second-to-last: the same protocol one event
 * earlier, so that training settings can be chosen without reading the test split; the test event
 * is then after the target and never read). The model's cached state sees the history only up to a cut-off:
 *
 * - `cutoff` (data with real timestamps, e.g. ML-100K): the events with timestamp < target time − Δ
 *   (a daily batch job leaves a state up to a day old: Δ = 24 h by default);
 * - `drop-last` (S3-Rec data, whose timestamps are positions): all but the last n events before
 *   the target.
 *
 * The context is the event just before the target (its item's categories and confidences, NEVER
 * the target's): the subject item of a Related-Items request. Only users whose context event is
 * after the cut-off (so the context is news to the state) and whose state is not empty are scored;
 * the others are counted. Four figures on the SAME users and the same candidates:
 *
 *   baseline             the no-context model on the stale state
 *   contextual           the contextual model on the stale state + the context
 *   contextualNoContext  the contextual model on the stale state, no context (the gain of
 *                        `contextual` over it is the context's, not the model's)
 *   fresh                the no-context model on the full history (no staleness: the upper reference)
 *
 * Ranking is `loo`'s: full ranking over every real item, the items of the user's FULL history
 * (every event before the target, whatever the state saw) removed from the candidates for all four
 * figures alike, the target always a candidate, ties counted against the target. So `fresh` equals
 * the `loo` test figure of the baseline model restricted to the scored users.
 *
 * Leakage by construction: states are `buildHistoryBatch` copies of the events before the cut
 * (≤ the context position < the target position), and the context is a copy of the context
 * event's categories; nothing is read at or after the target.
 */
import { requireArg } from "../core/errors.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import { buildHistoryBatch } from "./history.ts";
import { type BatchScoreFn, batchScoreFn, datasetName, looTargets } from "./loo.ts";
import { EVAL_KS, targetRanks } from "./metrics.ts";
import type { LooTarget } from "./result.ts";
import type { CategoryContext, HistoryBatch, RetrievalScorer } from "./scorer.ts";
import {
  type StaleContextResult,
  type StaleFigure,
  type StaleSetting,
  settingName,
  summarizeSetting,
} from "./staleResult.ts";

export type { StaleContextResult, StaleFigure, StaleSetting, StaleSettingResult } from "./staleResult.ts";
export { formatStaleTable, settingName, writeStaleJson } from "./staleResult.ts";

/** The two models compared. */
export interface StaleScorers {
  /** The non-contextual model (trained with `--no-context`): `baseline` and `fresh`. */
  baseline: RetrievalScorer;
  /** The contextual model: `contextual` (with context) and `contextualNoContext`. */
  contextual: RetrievalScorer;
}

export interface StaleContextArgs {
  /** Staleness settings, one result each (a sweep). Default: `defaultStaleSettings(ds)`. */
  settings?: readonly StaleSetting[];
  /** Users per scoring batch (score matrix [B, N] Float32). Default 256. */
  batchSize?: number;
  /** HIT/NDCG cut-offs. Default [5, 10, 20]. */
  ks?: readonly number[];
  /** Each user's last event ("test", default) or second-to-last ("validation") as the target. */
  target?: LooTarget;
  /** Embedding scorers' dot products: "onnxruntime" (default) or "typescript" (the reference). */
  matmul?: "onnxruntime" | "typescript";
  /** Called after each batch with the scoring rows done and the total (all passes together). */
  onProgress?: (done: number, total: number) => void;
}

/** True unless the data set's timestamps are positions (S3-Rec files: event k at k seconds). */
export function hasRealTimestamps(ds: CompiledDataset): boolean {
  return ds.source.format !== "s3rec";
}

/** A one-day time cut-off on timestamped data; drop the last 1, 2, 4 events on S3-Rec data. */
export function defaultStaleSettings(ds: CompiledDataset): StaleSetting[] {
  return hasRealTimestamps(ds)
    ? [{ kind: "cutoff", seconds: 86_400 }]
    : [1, 2, 4].map((events) => ({ kind: "drop-last", events }));
}

/** The scored users of one setting, with where each one's state, context and target are. */
export interface StaleSelection {
  setting: StaleSetting;
  /** [U'] scored user codes, ascending. */
  users: Int32Array;
  /** [U'] position of each user's target (the last event). */
  targets: Int32Array;
  /** [U'] first position NOT in the stale state: the state is offsets[u] .. cuts-1. */
  cuts: Int32Array;
  /** Users with ≥ 3 events (the candidates). */
  candidates: number;
  /** Candidates skipped because the context event is inside the state (not news to it). */
  contextInState: number;
  /** Candidates skipped because the state has no event (nothing cached to be stale). */
  emptyState: number;
  /** Scored users whose context item has no category (the contextual model sees "no context"). */
  contextWithoutCategories: number;
  /** Mean events in the scored users' stale states. */
  meanStateEvents: number;
  /** Mean events between the state and the target that the state misses (≥ 1: the context event is one). */
  meanUnseenEvents: number;
}

/** First position in [a, b) with timestamp ≥ t (timestamps are sorted within a user). */
function lowerBound(ts: Float64Array, a: number, b: number, t: number): number {
  let lo = a;
  let hi = b;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function checkSetting(s: StaleSetting): void {
  if (s.kind === "cutoff") {
    requireArg(
      Number.isFinite(s.seconds) && s.seconds > 0,
      "settings.cutoff",
      `expected a cut-off Δ > 0 seconds, got ${s.seconds}`,
    );
  } else {
    requireArg(
      s.kind === "drop-last" && Number.isInteger(s.events) && s.events >= 1,
      "settings.drop-last",
      `expected { kind: "cutoff", seconds } or { kind: "drop-last", events ≥ 1 }, got ${JSON.stringify(s)}`,
    );
  }
}

/**
 * The users a setting scores (see the module comment). The context event is the one just before
 * the target (position target − 1); it must be at or after the cut (`cut ≤ target − 1`), and the
 * state `offsets[u] .. cut − 1` must hold at least one event.
 */
export function staleSelection(
  ds: CompiledDataset,
  setting: StaleSetting,
  target: LooTarget = "test",
): StaleSelection {
  checkSetting(setting);
  const loo = looTargets(ds, target);
  const users: number[] = [];
  const targets: number[] = [];
  const cuts: number[] = [];
  let contextInState = 0;
  let emptyState = 0;
  let contextWithoutCategories = 0;
  let stateEvents = 0;
  let unseenEvents = 0;
  for (let j = 0; j < loo.users.length; j++) {
    const u = loo.users[j];
    const start = ds.offsets[u];
    const target = loo.positions[j];
    const cut =
      setting.kind === "cutoff"
        ? lowerBound(ds.timestamps, start, target, ds.timestamps[target] - setting.seconds)
        : Math.max(start, target - setting.events);
    if (cut > target - 1) {
      contextInState++;
      continue;
    }
    if (cut === start) {
      emptyState++;
      continue;
    }
    const subject = ds.items[target - 1];
    if (ds.catOffsets[subject + 1] === ds.catOffsets[subject]) contextWithoutCategories++;
    stateEvents += cut - start;
    unseenEvents += target - cut;
    users.push(u);
    targets.push(target);
    cuts.push(cut);
  }
  const n = Math.max(1, users.length);
  return {
    setting,
    users: Int32Array.from(users),
    targets: Int32Array.from(targets),
    cuts: Int32Array.from(cuts),
    candidates: loo.users.length,
    contextInState,
    emptyState,
    contextWithoutCategories,
    meanStateEvents: stateEvents / n,
    meanUnseenEvents: unseenEvents / n,
  };
}

/**
 * The request context of B users: each one's subject item = the event at `contextPositions[b]`,
 * with every category and confidence of that item (copies; the scorer applies its own top-k), and
 * the item itself (for models that read the subject's id).
 */
export function subjectContext(ds: CompiledDataset, contextPositions: Int32Array): CategoryContext {
  const B = contextPositions.length;
  const offsets = new Int32Array(B + 1);
  for (let b = 0; b < B; b++) {
    const i = ds.items[contextPositions[b]];
    offsets[b + 1] = offsets[b] + (ds.catOffsets[i + 1] - ds.catOffsets[i]);
  }
  const categories = new Int32Array(offsets[B]);
  const confidences = new Float32Array(offsets[B]);
  for (let b = 0; b < B; b++) {
    const i = ds.items[contextPositions[b]];
    categories.set(ds.catIds.subarray(ds.catOffsets[i], ds.catOffsets[i + 1]), offsets[b]);
    confidences.set(ds.catConf.subarray(ds.catOffsets[i], ds.catOffsets[i + 1]), offsets[b]);
  }
  const items = Int32Array.from(contextPositions, (e) => ds.items[e]);
  return { kind: "categories", offsets, categories, confidences, items };
}

/** Which inputs a scoring pass gives the model. */
type PassInput = "stale" | "stale+context" | "fresh";

/**
 * The batch of users `b0 .. b1-1` of a selection for one pass: the stale state (copies of the
 * events before the cut) with or without the context, or the full history (before the target).
 */
export function staleBatch(
  ds: CompiledDataset,
  sel: StaleSelection,
  b0: number,
  b1: number,
  input: PassInput,
): HistoryBatch {
  const users = sel.users.subarray(b0, b1);
  const targets = sel.targets.subarray(b0, b1);
  if (input === "fresh") return buildHistoryBatch(ds, users, targets);
  const batch = buildHistoryBatch(ds, users, sel.cuts.subarray(b0, b1));
  if (input === "stale") return batch;
  return {
    ...batch,
    context: subjectContext(
      ds,
      Int32Array.from(targets, (t) => t - 1),
    ),
  };
}

/**
 * Filtered 0-based ranks [U'] of every selected user's target for one pass. The candidates exclude
 * the items of the user's full history (events before the target), the same for every pass.
 */
async function rankPass(
  ds: CompiledDataset,
  sel: StaleSelection,
  input: PassInput,
  score: BatchScoreFn,
  batchSize: number,
  tick: (n: number) => void,
): Promise<Int32Array> {
  const U = sel.users.length;
  const N = ds.itemVocab.size;
  const ranks = new Int32Array(U);
  const seen = new Uint8Array(N);
  const excluded: number[] = [];
  for (let b0 = 0; b0 < U; b0 += batchSize) {
    const b1 = Math.min(U, b0 + batchSize);
    const scores = await score(staleBatch(ds, sel, b0, b1, input));
    for (let b = 0; b < b1 - b0; b++) {
      const target = sel.targets[b0 + b];
      const t = ds.items[target];
      const start = ds.offsets[sel.users[b0 + b]];
      excluded.length = 0;
      for (let e = start; e < target; e++) {
        const i = ds.items[e];
        if (seen[i] === 1 || i === t) continue;
        seen[i] = 1;
        excluded.push(i);
      }
      ranks[b0 + b] = targetRanks(scores, b * N, N, t, excluded).filtered;
      for (const i of excluded) seen[i] = 0;
    }
    tick(b1 - b0);
  }
  return ranks;
}

/** Per-user filtered ranks of the four figures of one setting. */
export type StaleRanks = Record<StaleFigure, Int32Array>;

/** Ranks every scored user of every setting under the four figures (see the module comment). */
export async function rankStaleContext(
  ds: CompiledDataset,
  scorers: StaleScorers,
  args: StaleContextArgs = {},
): Promise<{ selection: StaleSelection; ranks: StaleRanks }[]> {
  const settings = args.settings ?? defaultStaleSettings(ds);
  requireArg(settings.length >= 1, "settings", "expected at least one staleness setting");
  const batchSize = args.batchSize ?? 256;
  requireArg(
    Number.isInteger(batchSize) && batchSize >= 1,
    "batchSize",
    `expected an integer ≥ 1, got ${batchSize}`,
  );
  const matmul = args.matmul ?? "onnxruntime";
  requireArg(
    matmul === "onnxruntime" || matmul === "typescript",
    "matmul",
    `expected "onnxruntime" or "typescript", got ${matmul}`,
  );
  const selections = settings.map((s) => staleSelection(ds, s, args.target));
  for (const sel of selections) {
    requireArg(
      sel.users.length > 0,
      "settings",
      `${settingName(sel.setting)}: no user has the event before the target after the cut-off and a ` +
        `non-empty state (${sel.contextInState} context in state, ${sel.emptyState} empty state of ` +
        `${sel.candidates}); choose a cut-off that leaves both`,
    );
  }
  // `fresh` does not depend on the setting: rank it once over every user any setting scores.
  const fresh = unionSelection(selections);
  const total = fresh.users.length + selections.reduce((s, sel) => s + 3 * sel.users.length, 0);
  let done = 0;
  const tick = (n: number) => {
    done += n;
    args.onProgress?.(done, total);
  };
  const N = ds.itemVocab.size;
  const base = await batchScoreFn(scorers.baseline, N, matmul);
  try {
    const ctx = await batchScoreFn(scorers.contextual, N, matmul);
    try {
      const freshRanks = await rankPass(ds, fresh, "fresh", base.score, batchSize, tick);
      const freshOf = new Map<number, number>();
      for (let j = 0; j < fresh.users.length; j++) freshOf.set(fresh.users[j], freshRanks[j]);
      const out: { selection: StaleSelection; ranks: StaleRanks }[] = [];
      for (const sel of selections) {
        const pass = (input: PassInput, score: BatchScoreFn) =>
          rankPass(ds, sel, input, score, batchSize, tick);
        out.push({
          selection: sel,
          ranks: {
            baseline: await pass("stale", base.score),
            contextual: await pass("stale+context", ctx.score),
            contextualNoContext: await pass("stale", ctx.score),
            fresh: Int32Array.from(sel.users, (u) => freshOf.get(u) ?? -1),
          },
        });
      }
      return out;
    } finally {
      await ctx.release();
    }
  } finally {
    await base.release();
  }
}

/** Every user scored by some selection, once, ascending, with its target (for the `fresh` pass). */
function unionSelection(selections: StaleSelection[]): StaleSelection {
  const targetOf = new Map<number, number>();
  for (const sel of selections) {
    for (let j = 0; j < sel.users.length; j++) targetOf.set(sel.users[j], sel.targets[j]);
  }
  const users = Int32Array.from(targetOf.keys()).sort();
  const targets = Int32Array.from(users, (u) => targetOf.get(u) ?? -1);
  return {
    ...selections[0],
    users,
    targets,
    cuts: Int32Array.from(targets),
  };
}

/** Runs `stale-context` and summarises it (the JSON `ctxrec eval --protocol stale-context` writes). */
export async function evaluateStaleContext(
  ds: CompiledDataset,
  scorers: StaleScorers,
  args: StaleContextArgs = {},
): Promise<StaleContextResult> {
  const ks = args.ks ?? EVAL_KS;
  const ranked = await rankStaleContext(ds, scorers, args);
  const settings = ranked.map(({ selection, ranks }) => summarizeSetting(selection, ranks, ks));
  return {
    protocol: "stale-context",
    target: args.target ?? "test",
    dataset: datasetName(ds),
    models: { baseline: scorers.baseline.name, contextual: scorers.contextual.name },
    users: settings[0].users,
    metrics: settings[0].metrics,
    settings,
  };
}
