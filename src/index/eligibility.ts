/**
 * Query-time eligibility filters for the vector index: which items (rows 0..N-1 of the embedding
 * matrix) a request may receive.
 *
 * A filter is a bitset over item rows plus the sorted list of eligible rows. The service builds one
 * per country ONCE when an index version is loaded (`eligibilityByCountry`), so a request pays a
 * map lookup, never a pass over the catalogue. The bitset answers "may I return row i?" in O(1)
 * inside the HNSW walk; the row list lets a selective filter be served by an exact scan of only the
 * eligible rows, which beats searching the graph and throwing most results away.
 */
import { CtxrecError, requireArg } from "../core/errors.ts";

/** An immutable set of eligible item rows `[≤N]` out of `size` = N. */
export class Eligibility {
  /** ⌈N/32⌉ words; bit i set ⇔ row i eligible. */
  private readonly bits: Uint32Array;
  /** Eligible rows in increasing order `[count]`. */
  readonly rows: Int32Array;

  private constructor(
    readonly size: number,
    bits: Uint32Array,
    rows: Int32Array,
  ) {
    this.bits = bits;
    this.rows = rows;
  }

  /** Number of eligible rows. */
  get count(): number {
    return this.rows.length;
  }

  /** Whether row i may be returned. */
  has(i: number): boolean {
    return i >= 0 && i < this.size && (this.bits[i >>> 5] & (1 << (i & 31))) !== 0;
  }

  /** The eligible rows given as a list (any order, duplicates ignored) out of N = `size`. */
  static fromRows(size: number, rows: ArrayLike<number>): Eligibility {
    requireArg(Number.isInteger(size) && size >= 0, "size", `size must be an integer ≥ 0, got ${size}`);
    const bits = new Uint32Array(Math.ceil(size / 32));
    for (let j = 0; j < rows.length; j++) {
      const i = rows[j];
      if (!Number.isInteger(i) || i < 0 || i >= size) {
        throw new CtxrecError("CTXREC_ERR_ARG", `row ${i} at position ${j} is outside [0, ${size})`, {
          param: "rows",
        });
      }
      bits[i >>> 5] |= 1 << (i & 31);
    }
    return Eligibility.fromBits(size, bits);
  }

  /** Rows i in [0, size) for which `accept(i)` holds. */
  static fromPredicate(size: number, accept: (i: number) => boolean): Eligibility {
    const rows: number[] = [];
    for (let i = 0; i < size; i++) if (accept(i)) rows.push(i);
    return Eligibility.fromRows(size, rows);
  }

  /** Every row eligible (what "no filter" means, made explicit). */
  static all(size: number): Eligibility {
    return Eligibility.fromPredicate(size, () => true);
  }

  private static fromBits(size: number, bits: Uint32Array): Eligibility {
    let count = 0;
    for (let w = 0; w < bits.length; w++) count += popcount(bits[w]);
    const rows = new Int32Array(count);
    let k = 0;
    for (let i = 0; i < size; i++) if ((bits[i >>> 5] & (1 << (i & 31))) !== 0) rows[k++] = i;
    return new Eligibility(size, bits, rows);
  }
}

function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/**
 * Per-country filters built once from the catalogue's country lists in CSR form, following the data
 * layer's rule (`CompiledDataset.itemCountryOffsets`): an item with no countries is eligible
 * everywhere; a restricted item only in the countries it lists.
 */
export class CountryEligibility {
  private readonly byCountry: Map<number, Eligibility>;

  /**
   * @param offsets `[N + 1]` CSR offsets into `countries`.
   * @param countries country codes (vocabulary indices) of the restricted items.
   */
  constructor(offsets: Int32Array, countries: Int32Array) {
    const n = offsets.length - 1;
    requireArg(n >= 0, "offsets", "offsets must have N + 1 entries");
    const unrestricted: number[] = [];
    const rowsByCountry = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      if (offsets[i + 1] === offsets[i]) unrestricted.push(i);
      for (let j = offsets[i]; j < offsets[i + 1]; j++) {
        const c = countries[j];
        const list = rowsByCountry.get(c);
        if (list === undefined) rowsByCountry.set(c, [i]);
        else list.push(i);
      }
    }
    this.size = n;
    this.unrestricted = Eligibility.fromRows(n, unrestricted);
    this.byCountry = new Map();
    for (const [c, rows] of rowsByCountry)
      this.byCountry.set(c, Eligibility.fromRows(n, [...unrestricted, ...rows]));
  }

  readonly size: number;
  /** Items shown to a user of unknown country or of a country no item is restricted to. */
  readonly unrestricted: Eligibility;

  /** The filter for a user in `country` (vocabulary index, or undefined when unknown). O(1). */
  forCountry(country: number | undefined): Eligibility {
    if (country === undefined) return this.unrestricted;
    return this.byCountry.get(country) ?? this.unrestricted;
  }
}
