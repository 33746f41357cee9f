/**
 * Item eligibility by country as the model folder stores it, so that serving and indexing need no
 * data set to honour `filter.country`: the data set's item → country CSR (`itemCountryOffsets`,
 * `itemCountries`) goes into weights.bin's table under two names, and the country vocabulary its
 * codes refer to goes into vocab.json as `countries`.
 *
 * Additive to format version 1: folders written before these arrays existed lack both, and read as
 * "countries unknown" (every item eligible everywhere, the rule without data flags), so the format
 * version did not change. Shapes: I = item vocabulary size (codes 0..I-1, 0 = padding), Kn
 * (item, country) pairs.
 */
import { CtxrecError } from "../core/errors.ts";
import type { CompiledDataset } from "../data/dataset.ts";

/** Weight-table names of the two arrays. */
export const ITEM_COUNTRY_OFFSETS = "items/countryOffsets";
export const ITEM_COUNTRY_CODES = "items/countries";

/** The item → country CSR of a model folder. */
export interface ModelItemCountries {
  /** `[I + 1]` offsets into `countries` over item codes (row 0 = padding, empty); empty row = everywhere. */
  offsets: Int32Array;
  /** `[Kn]` country codes in `countryNames`. */
  countries: Int32Array;
  /** Country code → name (the data set's country vocabulary; 0 padding, 1 missing). */
  countryNames: readonly string[];
}

/** The two arrays saved for `ds`, named as in the weight table. */
export function itemCountryArraysOf(
  ds: CompiledDataset,
): { name: string; shape: number[]; data: Int32Array }[] {
  return [
    { name: ITEM_COUNTRY_OFFSETS, shape: [ds.itemCountryOffsets.length], data: ds.itemCountryOffsets },
    { name: ITEM_COUNTRY_CODES, shape: [ds.itemCountries.length], data: ds.itemCountries },
  ];
}

function corrupt(reason: string, file: string, field: string): CtxrecError {
  return new CtxrecError("CTXREC_ERR_ARTIFACT_CORRUPT", `${reason}; retrain or restore the model folder`, {
    file,
    field,
  });
}

/**
 * The item countries of a model folder from its two arrays (undefined when absent) and vocabularies;
 * undefined for a folder written before they were stored (all three absent). Throws
 * CTXREC_ERR_ARTIFACT_CORRUPT when only some are present or the CSR does not fit the item and
 * country vocabularies. `file` (weights.bin) names the folder in messages.
 */
export function itemCountriesFromArrays(
  offsets: Int32Array | undefined,
  countries: Int32Array | undefined,
  vocabs: { items: readonly string[]; countries?: readonly string[] },
  file: string,
): ModelItemCountries | undefined {
  const names = vocabs.countries;
  if (offsets === undefined && countries === undefined && names === undefined) return undefined;
  if (offsets === undefined || countries === undefined || names === undefined) {
    const missing =
      offsets === undefined
        ? ITEM_COUNTRY_OFFSETS
        : countries === undefined
          ? ITEM_COUNTRY_CODES
          : "vocab.json countries";
    throw corrupt(`item countries are only partly stored (${missing} is missing)`, file, missing);
  }
  const n = vocabs.items.length;
  if (offsets.length !== n + 1) {
    throw corrupt(
      `${ITEM_COUNTRY_OFFSETS} has ${offsets.length} entries, the ${n}-id item vocabulary needs ${n + 1}`,
      file,
      ITEM_COUNTRY_OFFSETS,
    );
  }
  for (let i = 0; i < n; i++) {
    if (offsets[i] > offsets[i + 1] || offsets[0] !== 0) {
      throw corrupt(
        `${ITEM_COUNTRY_OFFSETS} is not increasing at item code ${i}`,
        file,
        ITEM_COUNTRY_OFFSETS,
      );
    }
  }
  if (offsets[n] !== countries.length) {
    throw corrupt(
      `${ITEM_COUNTRY_OFFSETS} ends at ${offsets[n]}, ${ITEM_COUNTRY_CODES} has ${countries.length} codes`,
      file,
      ITEM_COUNTRY_OFFSETS,
    );
  }
  for (let j = 0; j < countries.length; j++) {
    if (countries[j] < 0 || countries[j] >= names.length) {
      throw corrupt(
        `country code ${countries[j]} at position ${j} is outside the ${names.length}-name country vocabulary`,
        file,
        ITEM_COUNTRY_CODES,
      );
    }
  }
  return { offsets, countries, countryNames: names };
}
