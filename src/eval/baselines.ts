/**
 * Reference scorers that need no training, to validate the harness on real data: any trained model
 * should beat them, and their figures are known in the literature (popularity HIT@10 on S3-Rec's
 * Beauty is ≈ 0.01–0.03 under this protocol).
 *
 * Both learn ONLY from the train part of the leave-one-out split (positions before each user's
 * validation target), as a trained model would; at scoring time they read nothing but the batch.
 */
import { requireArg } from "../core/errors.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import { leaveOneOut, type Split } from "../data/splits.ts";
import type { DirectScorer, HistoryBatch } from "./scorer.ts";

/** [N] events per item code in the train part of `split` (row 0 = padding, always 0). */
export function trainItemCounts(ds: CompiledDataset, split: Split = leaveOneOut(ds.offsets)): Float64Array {
  const counts = new Float64Array(ds.itemVocab.size);
  for (let u = 1; u < ds.offsets.length - 1; u++) {
    for (let e = ds.offsets[u]; e < split.validStart[u]; e++) counts[ds.items[e]]++;
  }
  return counts;
}

/** Popularity: every user gets the train counts as scores (the same ranking for all). */
export function createPopularityScorer(ds: CompiledDataset, split?: Split): DirectScorer {
  const counts = Float32Array.from(trainItemCounts(ds, split));
  const N = counts.length;
  return {
    kind: "direct",
    name: "popularity",
    async scoreAll(batch: HistoryBatch): Promise<Float32Array> {
      const out = new Float32Array(batch.size * N);
      for (let b = 0; b < batch.size; b++) out.set(counts, b * N);
      return out;
    },
  };
}

export interface CooccurrenceArgs {
  /** An item b counts as following a when it comes 1..window events after a in a train sequence. Default 1 (the next item). */
  window?: number;
  /** Split whose train part is counted. Default `leaveOneOut(ds.offsets)`. */
  split?: Split;
}

/**
 * "Last item" co-occurrence: score(i) = how often i followed the user's most recent history item
 * (within `window` events) in the train sequences, plus popularity / (max popularity + 1) as a
 * tie-breaker. The tie-breaker is < 1, so it only orders items with equal co-occurrence counts
 * (without it most items tie at 0 and the conservative tie rule would sink every unseen pair).
 * A user with an empty history gets popularity alone.
 */
export function createCooccurrenceScorer(ds: CompiledDataset, args: CooccurrenceArgs = {}): DirectScorer {
  const window = args.window ?? 1;
  requireArg(Number.isInteger(window) && window >= 1, "window", `expected an integer ≥ 1, got ${window}`);
  const split = args.split ?? leaveOneOut(ds.offsets);
  const N = ds.itemVocab.size;
  const counts = trainItemCounts(ds, split);
  let max = 0;
  for (let i = 0; i < N; i++) max = Math.max(max, counts[i]);
  const prior = Float32Array.from(counts, (c) => c / (max + 1));
  // followers.get(a) = Map(b → times b followed a within the window); sparse: Beauty has ~0.1% of pairs.
  const followers = new Map<number, Map<number, number>>();
  for (let u = 1; u < ds.offsets.length - 1; u++) {
    const end = split.validStart[u];
    for (let e = ds.offsets[u]; e < end; e++) {
      const a = ds.items[e];
      let row = followers.get(a);
      for (let f = e + 1; f <= e + window && f < end; f++) {
        if (row === undefined) {
          row = new Map();
          followers.set(a, row);
        }
        row.set(ds.items[f], (row.get(ds.items[f]) ?? 0) + 1);
      }
    }
  }
  return {
    kind: "direct",
    name: window === 1 ? "cooccurrence" : `cooccurrence(window=${window})`,
    async scoreAll(batch: HistoryBatch): Promise<Float32Array> {
      const out = new Float32Array(batch.size * N);
      for (let b = 0; b < batch.size; b++) {
        out.set(prior, b * N);
        const h1 = batch.historyOffsets[b + 1];
        if (h1 === batch.historyOffsets[b]) continue;
        const row = followers.get(batch.items[h1 - 1]);
        if (row === undefined) continue;
        for (const [item, c] of row) out[b * N + item] += c;
      }
      return out;
    },
  };
}
