/** Summary statistics of a compiled data set (what `ctxrec data stats` prints). */
import { type CompiledDataset, type DataReport, numEvents, numItems, numUsers } from "./dataset.ts";

export interface DatasetStats {
  users: number;
  items: number;
  events: number;
  /** Distinct interest categories used by items. */
  categories: number;
  eventTypes: number;
  /** Sequence length over users (all users, those without events count as 0). */
  seqLen: { mean: number; median: number; p90: number; min: number; max: number };
  /** events / (users × items). */
  density: number;
  /** Mean number of categories per item. */
  categoriesPerItem: number;
  report: DataReport;
}

/** Nearest-rank percentile of sorted values (q in [0, 1]). Median of an even count is the mean of the middle two. */
function percentile(sorted: Int32Array, q: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  if (q === 0.5) return n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return sorted[Math.min(n - 1, Math.ceil(q * n) - 1)];
}

export function datasetStats(ds: CompiledDataset): DatasetStats {
  const U = numUsers(ds);
  const N = numItems(ds);
  const E = numEvents(ds);
  const lens = new Int32Array(U);
  for (let u = 1; u <= U; u++) lens[u - 1] = ds.offsets[u + 1] - ds.offsets[u];
  lens.sort();
  return {
    users: U,
    items: N,
    events: E,
    categories: ds.categoryVocab.size - 1,
    eventTypes: ds.typeVocab.size - 2,
    seqLen: {
      mean: U === 0 ? 0 : E / U,
      median: percentile(lens, 0.5),
      p90: percentile(lens, 0.9),
      min: U === 0 ? 0 : lens[0],
      max: U === 0 ? 0 : lens[U - 1],
    },
    density: U === 0 || N === 0 ? 0 : E / (U * N),
    categoriesPerItem: N === 0 ? 0 : ds.catIds.length / N,
    report: ds.report,
  };
}
