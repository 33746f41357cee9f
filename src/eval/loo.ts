/**
 * The `loo` protocol (leave-one-out, the SASRec / S3-Rec / ICLRec protocol), on the split of
 * `leaveOneOut` (src/data/splits.ts): for each user with ≥ 3 events, the last event is the test
 * target and the second-to-last the validation target; the history given to the model is every
 * event strictly before the target (for a test target, the validation event is part of it).
 * Users with fewer than 3 events have no target and are not evaluated.
 *
 * Full ranking: every real item (codes 1..N-1) is a candidate and gets an exact score, in batches
 * of users, score matrix `[B, N]`; embedding scorers' dot products run as one onnxruntime Gemm per
 * batch (`ortScores.ts`, ≈20× the plain-TypeScript `dotScores`, which stays as the reference). The
 * padding row 0 is never a candidate (S3-Rec's `predict_full` scores it too). The target's rank is
 * conservative: all ties count ahead of it (see metrics.ts).
 *
 * Filtering (`metrics`): the items of the user's history are removed from the candidates, as in
 * S3-Rec/ICLRec, EXCEPT the target itself, which always stays a candidate even when the user had
 * it before. S3-Rec differs in two details, on purpose not copied: its `predict_full` path sets the
 * scores of all history items to 0 (`rating_pred[train_matrix > 0] = 0`), which (a) also zeroes
 * the target when it repeats an earlier item (the model is then judged on a score it never gave),
 * and (b) with unbounded dot-product scores still lets a zeroed item rank above items with negative
 * scores. Removing the items is what the zeroing is meant to do. `metricsUnfiltered` ranks the
 * target among all items. `targetsInHistory` counts the users whose target repeats a history item.
 *
 * The protocol passes NO context: the batches come from `buildHistoryBatch`, which has no way to
 * carry one (DESIGN §6.1 measures the sequence model; a target-derived context would be leakage).
 */
import { CtxrecError, requireArg } from "../core/errors.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import { leaveOneOut } from "../data/splits.ts";
import { dotScores } from "./exactScores.ts";
import { buildHistoryBatch } from "./history.ts";
import { EVAL_KS, summarizeRanks, targetRanks } from "./metrics.ts";
import { createOrtExactScorer } from "./ortScores.ts";
import { type PairedGain, pairedGain } from "./pairedGain.ts";
import type { EvalResult, LooTarget } from "./result.ts";
import { checkScorerOutput, type HistoryBatch, type RetrievalScorer } from "./scorer.ts";

export interface LooArgs {
  /** "test" (last event; the reported figure) or "validation" (second-to-last; early stopping). Default "test". */
  target?: LooTarget;
  /** Users per scoring batch (the score matrix is [B, N] Float32). Default 256. */
  batchSize?: number;
  /** HIT/NDCG cut-offs. Default [5, 10, 20]. */
  ks?: readonly number[];
  /**
   * How embedding scorers' dot products are computed: "onnxruntime" (fast, Float32 sums) or
   * "typescript" (`dotScores`, the dependency-free reference). Default "onnxruntime".
   */
  matmul?: "onnxruntime" | "typescript";
  /** Called after each batch with users done and total. */
  onProgress?: (done: number, total: number) => void;
}

/** The evaluated users, in user-code order, and the data set position of each one's target. */
export interface LooTargets {
  /** [U'] user codes with a target (≥ 3 events). */
  users: Int32Array;
  /** [U'] position of each user's target in the data set's event arrays; the history ends just before it. */
  positions: Int32Array;
}

/** Per-user outcome of a `loo` pass (for significance tests or per-segment breakdowns). */
export interface LooRanks extends LooTargets {
  /** [U'] 0-based conservative rank with the history removed from the candidates. */
  filtered: Int32Array;
  /** [U'] 0-based conservative rank among all items. */
  unfiltered: Int32Array;
  /** Users whose target item also occurs in their history. */
  targetsInHistory: number;
}

/** The users with a `target` under leave-one-out, and their target positions. */
export function looTargets(ds: CompiledDataset, target: LooTarget): LooTargets {
  const split = leaveOneOut(ds.offsets);
  const users: number[] = [];
  const positions: number[] = [];
  for (let u = 1; u < ds.offsets.length - 1; u++) {
    // A user with a target has validStart < testStart < end (leaveOneOut leaves short users in train only).
    if (split.testStart[u] >= ds.offsets[u + 1]) continue;
    users.push(u);
    positions.push(target === "test" ? split.testStart[u] : split.validStart[u]);
  }
  return { users: Int32Array.from(users), positions: Int32Array.from(positions) };
}

/** Ranks every evaluated user's target under `loo` (see the module comment). */
export async function rankLoo(
  ds: CompiledDataset,
  scorer: RetrievalScorer,
  args: LooArgs = {},
): Promise<LooRanks> {
  const target = args.target ?? "test";
  requireArg(
    target === "test" || target === "validation",
    "target",
    `expected "test" or "validation", got ${target}`,
  );
  const batchSize = args.batchSize ?? 256;
  requireArg(
    Number.isInteger(batchSize) && batchSize >= 1,
    "batchSize",
    `expected an integer ≥ 1, got ${batchSize}`,
  );
  const { users, positions } = looTargets(ds, target);
  if (users.length === 0) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_EMPTY",
      "no user has the 3 events leave-one-out needs (train, validation, test); use a larger data set",
      { file: ds.source.path },
    );
  }
  const matmul = args.matmul ?? "onnxruntime";
  requireArg(
    matmul === "onnxruntime" || matmul === "typescript",
    "matmul",
    `expected "onnxruntime" or "typescript", got ${matmul}`,
  );
  const { score, release } = await batchScoreFn(scorer, ds.itemVocab.size, matmul);
  try {
    return await rankBatches(ds, { users, positions }, batchSize, score, args.onProgress);
  } finally {
    await release();
  }
}

/** `[B, N]` scores of a batch. */
export type BatchScoreFn = (batch: HistoryBatch) => Promise<Float32Array>;

/**
 * The scoring function of a scorer: its own `scoreAll`, or user embeddings · item table (exact).
 * Shared with `stale-context`; call `release` when done (it frees the onnxruntime session).
 */
export async function batchScoreFn(
  scorer: RetrievalScorer,
  N: number,
  matmul: "onnxruntime" | "typescript",
): Promise<{ score: BatchScoreFn; release: () => Promise<void> }> {
  if (scorer.kind === "direct") {
    return {
      score: async (batch) => {
        const scores = await scorer.scoreAll(batch);
        checkScorerOutput(scores, batch.size, N, "scoreAll() [B, N]", scorer.name);
        return scores;
      },
      release: async () => {},
    };
  }
  const d = scorer.dim;
  requireArg(Number.isInteger(d) && d >= 1, "scorer.dim", `expected an integer ≥ 1, got ${d}`);
  const items = await scorer.itemEmbeddings();
  checkScorerOutput(items, N, d, "itemEmbeddings() [N, d]", scorer.name);
  const userTable = async (batch: HistoryBatch) => {
    const u = await scorer.userEmbeddings(batch);
    checkScorerOutput(u, batch.size, d, "userEmbeddings() [B, d]", scorer.name);
    return u;
  };
  if (matmul === "typescript") {
    return {
      score: async (batch) => dotScores(await userTable(batch), items, batch.size, N, d),
      release: async () => {},
    };
  }
  const ortScorer = await createOrtExactScorer(items, N, d);
  return {
    score: async (batch) => ortScorer.scores(await userTable(batch), batch.size),
    release: () => ortScorer.release(),
  };
}

/** The batch loop of `rankLoo`: score each batch, rank each user's target. */
async function rankBatches(
  ds: CompiledDataset,
  { users, positions }: LooTargets,
  batchSize: number,
  score: BatchScoreFn,
  onProgress: LooArgs["onProgress"],
): Promise<LooRanks> {
  const U = users.length;
  const N = ds.itemVocab.size;
  const filtered = new Int32Array(U);
  const unfiltered = new Int32Array(U);
  const seen = new Uint8Array(N); // marks of the current user's history items, cleared after each user
  const excluded: number[] = []; // the distinct history items of the current user, target left out
  let targetsInHistory = 0;
  for (let b0 = 0; b0 < U; b0 += batchSize) {
    const b1 = Math.min(U, b0 + batchSize);
    const batch = buildHistoryBatch(ds, users.subarray(b0, b1), positions.subarray(b0, b1));
    const scores = await score(batch);
    for (let b = 0; b < batch.size; b++) {
      const t = ds.items[positions[b0 + b]];
      excluded.length = 0;
      for (let h = batch.historyOffsets[b]; h < batch.historyOffsets[b + 1]; h++) {
        const i = batch.items[h];
        if (seen[i] === 1) continue;
        seen[i] = 1;
        if (i === t) targetsInHistory++;
        else excluded.push(i); // the target is never removed from its own ranking
      }
      const r = targetRanks(scores, b * N, N, t, excluded);
      filtered[b0 + b] = r.filtered;
      unfiltered[b0 + b] = r.unfiltered;
      for (let h = batch.historyOffsets[b]; h < batch.historyOffsets[b + 1]; h++) seen[batch.items[h]] = 0;
    }
    onProgress?.(b1, U);
  }
  return { users, positions, filtered, unfiltered, targetsInHistory };
}

/** A short name of the data set for reports: format and file or folder name. */
export function datasetName(ds: CompiledDataset): string {
  const base =
    ds.source.path
      .replace(/[\\/]+$/, "")
      .split(/[\\/]/)
      .pop() ?? ds.source.path;
  return `${ds.source.format}:${base}`;
}

/** Runs `loo` and summarises the ranks into an `EvalResult`. */
export async function evaluateLoo(
  ds: CompiledDataset,
  scorer: RetrievalScorer,
  args: LooArgs = {},
): Promise<EvalResult> {
  return looResult(ds, scorer.name, await rankLoo(ds, scorer, args), args);
}

/** The `EvalResult` of one scorer's `loo` ranks. */
function looResult(ds: CompiledDataset, model: string, ranks: LooRanks, args: LooArgs): EvalResult {
  const ks = args.ks ?? EVAL_KS;
  return {
    protocol: "loo",
    target: args.target ?? "test",
    dataset: datasetName(ds),
    model,
    metrics: summarizeRanks(ranks.filtered, ks),
    metricsUnfiltered: summarizeRanks(ranks.unfiltered, ks),
    users: ranks.users.length,
    targetsInHistory: ranks.targetsInHistory,
  };
}

/**
 * `loo` of `scorer` with `versus` ranked on the same users and targets: the result of `scorer`
 * with `versus` filled in (the other scorer's filtered metrics and the paired difference of every
 * hit@K / ndcg@K, scorer − versus, with its 95% interval over users).
 */
export async function compareLoo(
  ds: CompiledDataset,
  scorer: RetrievalScorer,
  versus: RetrievalScorer,
  args: LooArgs = {},
): Promise<EvalResult> {
  const ks = args.ks ?? EVAL_KS;
  const a = await rankLoo(ds, scorer, args);
  const b = await rankLoo(ds, versus, args);
  const gains: Record<string, PairedGain> = {};
  for (const k of ks) {
    for (const name of [`hit@${k}`, `ndcg@${k}`]) gains[name] = pairedGain(name, a.filtered, b.filtered);
  }
  const metrics = summarizeRanks(b.filtered, ks);
  return { ...looResult(ds, scorer.name, a, args), versus: { model: versus.name, metrics, gains } };
}
