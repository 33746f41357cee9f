/**
 * The catalogue side of the synthetic world: interest categories grouped into families, the
 * demographic profile of each family, advertisers, and items (categories with confidences, Zipf
 * popularity, advertiser, bid, country eligibility), plus the samplers that draw an item from a
 * category. Everything lives in typed arrays so the `large` preset (500k items) stays compact.
 */
import type { Rng } from "../core/rng.ts";
import type { WorldParams } from "./params.ts";
import { type AliasTables, aliasDraw, buildAliasTables, childRng, shuffledZipf } from "./sampling.ts";

/** Country codes in the fixed order `countries` takes them from. */
export const COUNTRY_CODES = [
  "US",
  "GB",
  "DE",
  "FR",
  "CA",
  "AU",
  "BR",
  "MX",
  "JP",
  "IN",
  "ES",
  "IT",
  "NL",
  "SE",
  "PL",
  "KR",
  "ZA",
  "AR",
  "TR",
  "ID",
] as const;

/** Most categories an item carries. */
export const MAX_ITEM_CATEGORIES = 4;
/** Eligibility mask of an item sold everywhere (countries ≤ 20 fit in 32 bits). */
const ALL_COUNTRIES = 0xffffffff;

/** Shapes: C categories, F families, K countries, N items, A advertisers. */
export interface Catalog {
  numCategories: number;
  numFamilies: number;
  numCountries: number;
  /** [C] family of each category; families are contiguous runs of category indices. */
  categoryFamily: Int32Array;
  /** [F+1] family f holds categories familyOffsets[f] .. familyOffsets[f+1]. */
  familyOffsets: Int32Array;
  /** [C] relative size of each category (Zipf, shuffled). */
  categoryMass: Float64Array;
  /** [F] mean age the family appeals to. */
  familyAge: Float64Array;
  /** [F] +1 appeals to women, −1 to men. */
  familyGender: Float64Array;
  /** [F*K] log-scale appeal of family f in country k. */
  familyCountry: Float64Array;
  /** [F] log of the family's total category mass: the prior before demographics. */
  familyLogBase: Float64Array;
  /** [K] relative share of users per country. */
  countryWeight: Float64Array;
  /** [N] item popularity (Zipf, shuffled). */
  popularity: Float64Array;
  /** [N+1] CSR over item categories, sorted by confidence (primary first). */
  itemCatOffsets: Int32Array;
  /** [Σ] category indices. */
  itemCats: Int32Array;
  /** [Σ] confidences in (0, 1], rounded to 3 decimals. */
  itemConf: Float64Array;
  /** [N] bit k set ⇔ eligible in country k. */
  itemCountries: Uint32Array;
  /** [N] advertiser index. */
  itemAdvertiser: Int32Array;
  /** [N] bid in currency units, rounded to cents. */
  itemBid: Float64Array;
  /** C tables: items of category c, weight popularity × confidence. */
  byCategory: AliasTables;
  /** One table over all items by popularity. */
  byPopularity: AliasTables;
  /** F tables over the categories of each family by mass. */
  byFamily: AliasTables;
}

const round = (x: number, decimals: number): number => {
  const f = 10 ** decimals;
  return Math.round(x * f) / f;
};

/** Single alias table over weights [n]. */
function singleTable(weights: Float64Array): AliasTables {
  const values = new Int32Array(weights.length);
  for (let i = 0; i < values.length; i++) values[i] = i;
  return buildAliasTables(Int32Array.of(0, weights.length), values, weights);
}

/** Builds the whole catalogue from the parameters and the world seed. */
export function buildCatalog(p: WorldParams, seed: number): Catalog {
  const C = p.categories;
  const F = p.families;
  const K = p.countries;
  const N = p.items;

  // Categories and families: family(c) = floor(c·F/C), so families differ in size by at most 1.
  const catRng = childRng(seed, "categories");
  const categoryFamily = new Int32Array(C);
  const familyOffsets = new Int32Array(F + 1);
  for (let c = 0; c < C; c++) {
    categoryFamily[c] = Math.floor((c * F) / C);
    familyOffsets[categoryFamily[c] + 1]++;
  }
  for (let f = 0; f < F; f++) familyOffsets[f + 1] += familyOffsets[f];
  const categoryMass = shuffledZipf(C, p.categoryZipf, catRng);
  const familyValues = Int32Array.from({ length: C }, (_, c) => c);
  const byFamily = buildAliasTables(familyOffsets, familyValues, categoryMass);
  const byCategoryMass = singleTable(categoryMass);

  // Family demographic profiles: what shifts a user's interests.
  const famRng = childRng(seed, "families");
  const familyAge = new Float64Array(F);
  const familyGender = new Float64Array(F);
  const familyCountry = new Float64Array(F * K);
  const familyLogBase = new Float64Array(F);
  for (let f = 0; f < F; f++) {
    familyAge[f] = 18 + famRng.float() * 52;
    familyGender[f] = famRng.float() * 2 - 1;
    for (let k = 0; k < K; k++) familyCountry[f * K + k] = 0.5 * famRng.normal();
    let mass = 0;
    for (let c = familyOffsets[f]; c < familyOffsets[f + 1]; c++) mass += categoryMass[c];
    familyLogBase[f] = Math.log(mass);
  }
  const countryWeight = new Float64Array(K);
  for (let k = 0; k < K; k++) countryWeight[k] = 1 / (k + 1) ** p.countryZipf;
  const byCountry = singleTable(countryWeight);

  // Advertisers: a home family, a home country and a base bid each.
  const advRng = childRng(seed, "advertisers");
  const A = p.advertisers;
  const advFamily = new Int32Array(A);
  const advCountry = new Int32Array(A);
  const advBid = new Float64Array(A);
  const advByFamilyCount = new Int32Array(F + 1);
  for (let a = 0; a < A; a++) {
    advFamily[a] = advRng.int(F);
    advCountry[a] = aliasDraw(byCountry, 0, advRng);
    advBid[a] = Math.exp(p.bidLogMean + p.bidLogSd * advRng.normal());
    advByFamilyCount[advFamily[a] + 1]++;
  }
  for (let f = 0; f < F; f++) advByFamilyCount[f + 1] += advByFamilyCount[f];
  const advByFamily = new Int32Array(A);
  const fill = advByFamilyCount.slice(0, F);
  for (let a = 0; a < A; a++) advByFamily[fill[advFamily[a]]++] = a;

  // Items.
  const itemRng = childRng(seed, "items");
  const popularity = shuffledZipf(N, p.itemZipf, itemRng);
  const itemCatOffsets = new Int32Array(N + 1);
  const cats: number[] = [];
  const confs: number[] = [];
  const itemCountries = new Uint32Array(N);
  const itemAdvertiser = new Int32Array(N);
  const itemBid = new Float64Array(N);
  const own: number[] = [];
  const ownConf: number[] = [];
  for (let i = 0; i < N; i++) {
    own.length = 0;
    ownConf.length = 0;
    // The first C items anchor one category each, so no category is empty.
    const hasCategory = i < C || !itemRng.bernoulli(p.itemNoCategoryRate);
    if (hasCategory) {
      const primary = i < C ? i : aliasDraw(byCategoryMass, 0, itemRng);
      own.push(primary);
      ownConf.push(0.5 + 0.5 * itemRng.float());
      const extra: number[] = [];
      while (own.length + extra.length < MAX_ITEM_CATEGORIES && itemRng.bernoulli(p.itemExtraCategoryP)) {
        const sameFamily = itemRng.bernoulli(p.itemSameFamilyP);
        const c = sameFamily
          ? aliasDraw(byFamily, categoryFamily[primary], itemRng)
          : aliasDraw(byCategoryMass, 0, itemRng);
        // A repeat is simply not added (a small family may have no other category).
        if (c !== primary && !extra.includes(c)) extra.push(c);
      }
      const extraConf = extra.map(() => 0.05 + 0.45 * itemRng.float()).sort((x, y) => y - x);
      own.push(...extra);
      ownConf.push(...extraConf);
    }
    for (let j = 0; j < own.length; j++) {
      cats.push(own[j]);
      confs.push(Math.max(0.001, round(ownConf[j], 3)));
    }
    itemCatOffsets[i + 1] = cats.length;

    const family = hasCategory ? categoryFamily[own[0]] : -1;
    const lo = family >= 0 ? advByFamilyCount[family] : 0;
    const hi = family >= 0 ? advByFamilyCount[family + 1] : 0;
    const adv = hi > lo ? advByFamily[lo + itemRng.int(hi - lo)] : itemRng.int(A);
    itemAdvertiser[i] = adv;
    itemBid[i] = Math.max(0.01, round(advBid[adv] * Math.exp(p.bidItemSd * itemRng.normal()), 2));
    if (itemRng.bernoulli(p.itemGlobalRate)) itemCountries[i] = ALL_COUNTRIES;
    else {
      let mask = 1 << advCountry[adv];
      for (let k = 0; k < K; k++) if (itemRng.bernoulli(p.itemExtraCountryP)) mask |= 1 << k;
      itemCountries[i] = mask >>> 0;
    }
  }
  const itemCats = Int32Array.from(cats);
  const itemConf = Float64Array.from(confs);

  // Category → items samplers, weight popularity × confidence.
  const catCount = new Int32Array(C + 1);
  for (let j = 0; j < itemCats.length; j++) catCount[itemCats[j] + 1]++;
  for (let c = 0; c < C; c++) catCount[c + 1] += catCount[c];
  const catItems = new Int32Array(itemCats.length);
  const catWeights = new Float64Array(itemCats.length);
  const cursor = catCount.slice(0, C);
  for (let i = 0; i < N; i++) {
    for (let j = itemCatOffsets[i]; j < itemCatOffsets[i + 1]; j++) {
      const slot = cursor[itemCats[j]]++;
      catItems[slot] = i;
      catWeights[slot] = popularity[i] * itemConf[j];
    }
  }

  return {
    numCategories: C,
    numFamilies: F,
    numCountries: K,
    categoryFamily,
    familyOffsets,
    categoryMass,
    familyAge,
    familyGender,
    familyCountry,
    familyLogBase,
    countryWeight,
    popularity,
    itemCatOffsets,
    itemCats,
    itemConf,
    itemCountries,
    itemAdvertiser,
    itemBid,
    byCategory: buildAliasTables(catCount, catItems, catWeights),
    byPopularity: singleTable(popularity),
    byFamily,
  };
}

/** True when item i may be shown (and bought) in country k. */
export function eligibleIn(cat: Catalog, item: number, country: number): boolean {
  return ((cat.itemCountries[item] >>> country) & 1) === 1;
}

/**
 * An item by popularity that is eligible in `country`. Rejection sampling: most items are global
 * (itemGlobalRate), so a few tries suffice; after 1000 the last draw is taken as it is.
 */
export function drawPopular(cat: Catalog, country: number, rng: Rng): number {
  let item = 0;
  for (let t = 0; t < 1000; t++) {
    item = aliasDraw(cat.byPopularity, 0, rng);
    if (eligibleIn(cat, item, country)) return item;
  }
  return item;
}

/**
 * An item of category `c` (weight popularity × confidence) eligible in `country`, other than
 * `exclude` (pass −1 for none). After 32 rejected tries — a category with no eligible item — it
 * falls back to `drawPopular`, so a conversion never lands on an item the user cannot buy.
 */
export function drawFromCategory(
  cat: Catalog,
  c: number,
  country: number,
  exclude: number,
  rng: Rng,
): number {
  for (let t = 0; t < 32; t++) {
    const item = aliasDraw(cat.byCategory, c, rng);
    if (item !== exclude && eligibleIn(cat, item, country)) return item;
  }
  // The category has no eligible item but the excluded one (or very few): fall back to the
  // popularity draw, still never returning `exclude` (the subject item is never its own next item).
  let item = drawPopular(cat, country, rng);
  for (let t = 0; t < 64 && item === exclude; t++) item = drawPopular(cat, country, rng);
  return item;
}

/** The JSONL line of item i (the canonical data-layer item). */
export function itemLine(cat: Catalog, i: number): string {
  const categories = [];
  for (let j = cat.itemCatOffsets[i]; j < cat.itemCatOffsets[i + 1]; j++) {
    categories.push({ id: `c${cat.itemCats[j]}`, confidence: cat.itemConf[j] });
  }
  const row: Record<string, unknown> = {
    id: `i${i}`,
    categories,
    advertiser: `a${cat.itemAdvertiser[i]}`,
    bid: cat.itemBid[i],
  };
  // No `countries` field means eligible everywhere (the data layer's reading of a missing field).
  if (cat.itemCountries[i] !== ALL_COUNTRIES) {
    row.countries = COUNTRY_CODES.slice(0, cat.numCountries).filter((_, k) => eligibleIn(cat, i, k));
  }
  return JSON.stringify(row);
}

/** True when item i carries category c. */
export function itemHasCategory(cat: Catalog, i: number, c: number): boolean {
  for (let j = cat.itemCatOffsets[i]; j < cat.itemCatOffsets[i + 1]; j++)
    if (cat.itemCats[j] === c) return true;
  return false;
}
