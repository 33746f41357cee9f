/**
 * Categories related to a category, learned from the data: the "swap in a related category"
 * corruption of pseudo-context uses them so that a corrupted context looks like a neighbouring
 * subject item, not a random one.
 *
 * Evidence, each a confidence-weighted co-occurrence count n(a, b) (a ≠ b, symmetric):
 *   - within items: categories a and b of the same item, weight conf_a · conf_b;
 *   - between consecutive events of a user (only when `trainEnd` is given, and only events before
 *     trainEnd[u], so validation and test events never shape training): a of item t, b of item
 *     t + 1, weight conf_a · conf_b.
 * Each source is scaled to total mass 1 before they are added, so the (much larger) event log
 * does not drown the catalogue. Score s(a, b) = n(a, b) / √(n(a) · n(b)) with n(a) = Σ_b n(a, b): a
 * cosine-style normalisation, so a category that co-occurs with everything (a big brand, "Drama")
 * is not everyone's nearest neighbour. Ties break by the smaller category code: deterministic.
 *
 * Glossary: C categories (code 0 = padding), N items, U users, E events.
 */
import { requireArg } from "../core/errors.ts";
import { assertLength } from "../core/shapes.ts";
import type { CompiledDataset } from "../data/dataset.ts";

/** c → the codes of up to topN categories related to c, best first (a shared view: do not modify). */
export type RelatedCategories = (c: number) => Int32Array;

/** What `relatedCategories` reads from a data set: the catalogue, and the sequences for transitions. */
export type RelatedSource = Pick<CompiledDataset, "catOffsets" | "catIds" | "catConf"> &
  Partial<Pick<CompiledDataset, "offsets" | "items">>;

/**
 * Sparse-or-dense C×C pair weights keyed a·C + b. Dense (a Float64Array) while C² ≤ 2²⁴ (C ≤ 4096,
 * 128 MB at most): a Map costs ~0.2 µs per update, which was 1.5 s on Amazon Beauty's transitions.
 */
class PairWeights {
  private readonly dense: Float64Array | undefined;
  private readonly sparse = new Map<number, number>();
  constructor(readonly C: number) {
    this.dense = C * C <= 1 << 24 ? new Float64Array(C * C) : undefined;
  }
  /** Adds w to both (a, b) and (b, a). */
  add(a: number, b: number, w: number): void {
    this.addKey(a * this.C + b, w);
    this.addKey(b * this.C + a, w);
  }
  /** Adds w to the one entry `key` = a·C + b. */
  addKey(key: number, w: number): void {
    if (this.dense !== undefined) this.dense[key] += w;
    else this.sparse.set(key, (this.sparse.get(key) ?? 0) + w);
  }
  /** Calls fn(key, weight) for every non-zero entry, in increasing key order for the dense form. */
  forEach(fn: (key: number, w: number) => void): void {
    if (this.dense === undefined) {
      for (const [key, w] of this.sparse) fn(key, w);
      return;
    }
    const d = this.dense;
    for (let key = 0; key < d.length; key++) if (d[key] !== 0) fn(key, d[key]);
  }
  /** Σ of all weights (the source's total mass). */
  mass(): number {
    let s = 0;
    this.forEach((_, w) => {
      s += w;
    });
    return s;
  }
}

/** Within-item co-occurrence: every pair of categories of one item. */
function itemPairs(ds: RelatedSource, C: number): PairWeights {
  const m = new PairWeights(C);
  const N = ds.catOffsets.length - 1;
  for (let i = 0; i < N; i++) {
    const end = ds.catOffsets[i + 1];
    for (let j = ds.catOffsets[i]; j < end; j++) {
      for (let l = j + 1; l < end; l++) m.add(ds.catIds[j], ds.catIds[l], ds.catConf[j] * ds.catConf[l]);
    }
  }
  return m;
}

/** Transition co-occurrence: categories of consecutive train events of each user. */
function transitionPairs(
  ds: RelatedSource,
  offsets: Int32Array,
  items: Int32Array,
  C: number,
  trainEnd: Int32Array,
): PairWeights {
  const m = new PairWeights(C);
  const U = offsets.length - 1;
  for (let u = 0; u < U; u++) {
    const end = Math.min(trainEnd[u], offsets[u + 1]);
    for (let e = offsets[u]; e + 1 < end; e++) {
      const x = items[e];
      const y = items[e + 1];
      for (let j = ds.catOffsets[x]; j < ds.catOffsets[x + 1]; j++) {
        for (let l = ds.catOffsets[y]; l < ds.catOffsets[y + 1]; l++) {
          const a = ds.catIds[j];
          const b = ds.catIds[l];
          if (a !== b) m.add(a, b, ds.catConf[j] * ds.catConf[l]);
        }
      }
    }
  }
  return m;
}

/**
 * Learns, for every category, its topN most related categories (see the module comment).
 *
 * @param ds the data set (catalogue arrays; `offsets` and `items` only when `trainEnd` is given)
 * @param topN neighbours kept per category (≥ 1)
 * @param trainEnd [U] end (exclusive) of each user's training events, e.g. `split.validStart`;
 *   omitted = catalogue co-occurrence only (no event can leak)
 * @returns c → Int32Array of up to topN codes, best first; empty for padding, for categories no
 *   item uses and for categories that co-occur with nothing
 */
export function relatedCategories(ds: RelatedSource, topN: number, trainEnd?: Int32Array): RelatedCategories {
  requireArg(Number.isInteger(topN) && topN >= 1, "topN", `expected an integer ≥ 1, got ${topN}`);
  // Codes above the largest one any item uses cannot relate to anything: C = that code + 1.
  let C = 1;
  for (let j = 0; j < ds.catIds.length; j++) if (ds.catIds[j] >= C) C = ds.catIds[j] + 1;
  const sources = [itemPairs(ds, C)];
  if (trainEnd !== undefined) {
    const { offsets, items } = ds;
    requireArg(
      offsets !== undefined && items !== undefined,
      "ds",
      "transitions (trainEnd given) need the data set's offsets and items",
    );
    assertLength(trainEnd, offsets.length - 1, "trainEnd");
    sources.push(transitionPairs(ds, offsets, items, C, trainEnd));
  }
  // Merge the sources, each scaled to mass 1, and the marginals n(a).
  const n = new PairWeights(C);
  const marginal = new Float64Array(C);
  for (const src of sources) {
    const total = src.mass();
    if (total === 0) continue;
    src.forEach((key, v) => {
      const w = v / total;
      n.addKey(key, w);
      marginal[Math.floor(key / C)] += w;
    });
  }
  // Group (b, score) by a: count, then fill CSR-style.
  const count = new Int32Array(C + 1);
  n.forEach((key) => {
    count[Math.floor(key / C) + 1]++;
  });
  for (let a = 0; a < C; a++) count[a + 1] += count[a];
  const nbr = new Int32Array(count[C]);
  const score = new Float64Array(count[C]);
  const fill = count.slice(0, C);
  n.forEach((key, v) => {
    const a = Math.floor(key / C);
    const b = key - a * C;
    const at = fill[a]++;
    nbr[at] = b;
    score[at] = v / Math.sqrt(marginal[a] * marginal[b]);
  });
  // Keep the topN per category, best first, ties by code.
  const offsets = new Int32Array(C + 1);
  const kept: number[] = [];
  for (let a = 0; a < C; a++) {
    const idx = Array.from({ length: count[a + 1] - count[a] }, (_, t) => count[a] + t);
    idx.sort((p, q) => score[q] - score[p] || nbr[p] - nbr[q]);
    for (let t = 0; t < Math.min(topN, idx.length); t++) kept.push(nbr[idx[t]]);
    offsets[a + 1] = kept.length;
  }
  const ids = Int32Array.from(kept);
  const none = new Int32Array(0);
  return (c: number) => {
    requireArg(Number.isInteger(c) && c >= 0, "category", `expected a category code ≥ 0, got ${c}`);
    return c < C ? ids.subarray(offsets[c], offsets[c + 1]) : none;
  };
}
