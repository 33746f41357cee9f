/**
 * The world's catalogue compiled for the simulator: item and category ids mapped to dense indices,
 * item category vectors in CSR form, bids, country eligibility and category families.
 *
 * Shapes: N items, C categories. `catOffsets` `[N+1]`, `catIds`/`catConf` `[nnz]` (row i is
 * `[catOffsets[i], catOffsets[i+1])`, ids increasing), `catNorm`/`confSum`/`bid` `[N]`,
 * `family` `[C]`.
 */
import { CtxrecError } from "../core/errors.ts";
import type { World, WorldItem } from "../synth/types.ts";
import { cosineAgainstDense, norm, type SparseVec, scatter } from "./sparse.ts";

export interface Catalog {
  itemIds: string[];
  itemIndex: Map<string, number>;
  categoryIds: string[];
  categoryIndex: Map<string, number>;
  catOffsets: Int32Array;
  catIds: Int32Array;
  catConf: Float64Array;
  /** L2 norm of each item's confidence vector (0 for an item without categories). */
  catNorm: Float64Array;
  /** Sum of each item's confidences (0 for an item without categories). */
  confSum: Float64Array;
  /** Each item's bid; items without one bid `DEFAULT_BID`. */
  bid: Float64Array;
  /** Each category's family; a category unknown to `truth/categories.jsonl` is a family of its own. */
  family: Int32Array;
  /** Members of each family, keyed by family id. */
  familyMembers: Map<number, number[]>;
  /** Country sets of items restricted to some countries; unrestricted items are absent. */
  countries: Map<number, Set<string>>;
}

/** The bid of an item that has none: every item takes part in the auction at the same base price. */
export const DEFAULT_BID = 1;

/** Compiles the world's items and category truth. Throws on an item with a bad bid or confidence. */
export function compileCatalog(world: Pick<World, "items" | "categories">): Catalog {
  const categoryIds: string[] = [];
  const categoryIndex = new Map<string, number>();
  const families: number[] = [];
  let nextFamily = 0;
  for (const c of world.categories.values()) nextFamily = Math.max(nextFamily, c.family + 1);
  const addCategory = (id: string): number => {
    let idx = categoryIndex.get(id);
    if (idx === undefined) {
      idx = categoryIds.length;
      categoryIds.push(id);
      categoryIndex.set(id, idx);
      families.push(world.categories.get(id)?.family ?? nextFamily++);
    }
    return idx;
  };
  for (const c of world.categories.keys()) addCategory(c);

  const n = world.items.length;
  const itemIds: string[] = new Array(n);
  const itemIndex = new Map<string, number>();
  const catOffsets = new Int32Array(n + 1);
  const ids: number[] = [];
  const conf: number[] = [];
  const catNorm = new Float64Array(n);
  const confSum = new Float64Array(n);
  const bid = new Float64Array(n);
  const countries = new Map<number, Set<string>>();
  world.items.forEach((item, i) => {
    itemIds[i] = item.id;
    itemIndex.set(item.id, i);
    const row = sortedRow(item, i, addCategory);
    for (let j = 0; j < row.ids.length; j++) {
      ids.push(row.ids[j]);
      conf.push(row.values[j]);
      catNorm[i] += row.values[j] * row.values[j];
      confSum[i] += row.values[j];
    }
    catNorm[i] = Math.sqrt(catNorm[i]);
    catOffsets[i + 1] = ids.length;
    const b = item.bid ?? DEFAULT_BID;
    if (!(Number.isFinite(b) && b >= 0)) {
      throw new CtxrecError(
        "CTXREC_ERR_DATA_BAD_ROW",
        `expected a finite number ≥ 0, got ${b}; fix the item's bid`,
        {
          file: "items.jsonl",
          line: i + 1,
          field: "bid",
        },
      );
    }
    bid[i] = b;
    if (item.countries !== undefined && item.countries.length > 0) countries.set(i, new Set(item.countries));
  });

  const family = Int32Array.from(families);
  const familyMembers = new Map<number, number[]>();
  family.forEach((f, c) => {
    const members = familyMembers.get(f);
    if (members) members.push(c);
    else familyMembers.set(f, [c]);
  });
  return {
    itemIds,
    itemIndex,
    categoryIds,
    categoryIndex,
    catOffsets,
    catIds: Int32Array.from(ids),
    catConf: Float64Array.from(conf),
    catNorm,
    confSum,
    bid,
    family,
    familyMembers,
    countries,
  };
}

/** Item i's category vector, ids increasing; duplicate categories are summed (as one vector). */
function sortedRow(item: WorldItem, line: number, addCategory: (id: string) => number): SparseVec {
  const acc = new Map<number, number>();
  for (const c of item.categories) {
    if (!(Number.isFinite(c.confidence) && c.confidence > 0 && c.confidence <= 1)) {
      throw new CtxrecError(
        "CTXREC_ERR_DATA_BAD_ROW",
        `confidence of '${c.id}' must be in (0, 1], got ${c.confidence}`,
        { file: "items.jsonl", line: line + 1, field: "categories" },
      );
    }
    const idx = addCategory(c.id);
    acc.set(idx, (acc.get(idx) ?? 0) + c.confidence);
  }
  const sorted = [...acc.entries()].sort((a, b) => a[0] - b[0]);
  return { ids: sorted.map((e) => e[0]), values: sorted.map((e) => e[1]) };
}

/** Item i's category vector as a view on the CSR arrays. */
export function itemVector(cat: Catalog, i: number): SparseVec {
  const s = cat.catOffsets[i];
  const e = cat.catOffsets[i + 1];
  return { ids: cat.catIds.subarray(s, e), values: cat.catConf.subarray(s, e) };
}

/**
 * Cosine similarity of every item to item `subject` by category vectors, as a function of the item
 * index (see `similarityToVector`).
 */
export function similarityTo(cat: Catalog, subject: number): (i: number) => number {
  return similarityToVector(cat, itemVector(cat, subject));
}

/**
 * Cosine similarity of every item to the category vector `sv` (a subject item's or a query's), as a
 * function of the item index. `sv` is scattered once into a dense `[C]` buffer, so each call is
 * O(nnz_i). An empty `sv` has similarity 0 to everything.
 */
export function similarityToVector(cat: Catalog, sv: SparseVec): (i: number) => number {
  const dense = new Float64Array(cat.categoryIds.length);
  scatter(sv, dense);
  const sNorm = norm(sv);
  return (i) =>
    cosineAgainstDense(
      cat.catIds,
      cat.catConf,
      cat.catOffsets[i],
      cat.catOffsets[i + 1],
      cat.catNorm[i],
      dense,
      sNorm,
    );
}

/**
 * Whether item i may be shown to a user in `country`. Unrestricted items are eligible everywhere;
 * a restricted item needs a user whose country is known and listed.
 */
export function isEligible(cat: Catalog, i: number, country: string | undefined): boolean {
  const allowed = cat.countries.get(i);
  return allowed === undefined || (country !== undefined && allowed.has(country));
}

/** Indices of the items eligible in `country`, increasing `[≤N]`; cached per country in `cache`. */
export function eligibleItems(
  cat: Catalog,
  country: string | undefined,
  cache: Map<string, Int32Array>,
): Int32Array {
  const key = country ?? "\u0000none";
  let list = cache.get(key);
  if (list === undefined) {
    const out: number[] = [];
    for (let i = 0; i < cat.itemIds.length; i++) if (isEligible(cat, i, country)) out.push(i);
    list = Int32Array.from(out);
    cache.set(key, list);
  }
  return list;
}
