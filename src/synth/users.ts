/**
 * Users of the synthetic world: demographics (age, country, gender), the family prior those
 * demographics shift, and a sparse long-term interest mixture over categories concentrated on a
 * few families, which drifts over the user's sessions.
 */
import type { Rng } from "../core/rng.ts";
import { type Catalog, COUNTRY_CODES } from "./catalog.ts";
import type { WorldParams } from "./params.ts";
import { aliasDraw, drawDistinct, gamma, poisson } from "./sampling.ts";

export const GENDERS = ["female", "male", "other"] as const;

/** One user as the generator holds it (true values; the file may omit some demographics). */
export interface SynthUser {
  index: number;
  age: number;
  /** Index into GENDERS. */
  gender: number;
  /** Index into COUNTRY_CODES. */
  country: number;
  /** Interest categories [I] and their weights [I] (sum 1). */
  interests: number[];
  weights: number[];
}

/** Width (years) of a family's age appeal. */
const AGE_WIDTH = 15;

/**
 * Log-weights [F] of the families for a user with these demographics:
 * log base_f + demoStrength · (−½((age − age_f)/15)² + gender_f·g + country_{f,k}),
 * g = +1 female, −1 male, 0 other. The prior is their softmax.
 */
export function familyPrior(
  cat: Catalog,
  p: WorldParams,
  age: number,
  gender: number,
  country: number,
): Float64Array {
  const F = cat.numFamilies;
  const g = gender === 0 ? 1 : gender === 1 ? -1 : 0;
  const logits = new Float64Array(F);
  let max = Number.NEGATIVE_INFINITY;
  for (let f = 0; f < F; f++) {
    const z = (age - cat.familyAge[f]) / AGE_WIDTH;
    const shift = -0.5 * z * z + cat.familyGender[f] * g + cat.familyCountry[f * cat.numCountries + country];
    logits[f] = cat.familyLogBase[f] + p.demoStrength * shift;
    if (logits[f] > max) max = logits[f];
  }
  for (let f = 0; f < F; f++) logits[f] = Math.exp(logits[f] - max);
  return logits;
}

/** Draws demographics and long-term interests of user `index`. */
export function drawUser(cat: Catalog, p: WorldParams, index: number, rng: Rng): SynthUser {
  // Adult ages, mean ≈ 35, long right tail, capped at 80.
  const age = Math.min(80, 18 + Math.floor(-Math.log(1 - rng.float()) * 17));
  const gu = rng.float();
  const gender = gu < 0.48 ? 0 : gu < 0.96 ? 1 : 2;
  const country = rng.weighted(cat.countryWeight);
  const prior = familyPrior(cat, p, age, gender, country);

  const nf = Math.min(cat.numFamilies, 1 + poisson(rng, p.userFamiliesMean - 1));
  const interests: number[] = [];
  const weights: number[] = [];
  for (const f of drawDistinct(prior, nf, rng)) {
    const lo = cat.familyOffsets[f];
    const hi = cat.familyOffsets[f + 1];
    const nc = Math.min(hi - lo, 1 + poisson(rng, p.userCategoriesPerFamily - 1));
    for (const j of drawDistinct(cat.categoryMass.subarray(lo, hi), nc, rng)) {
      interests.push(lo + j);
      weights.push(gamma(rng, p.interestAlpha));
    }
  }
  const user = { index, age, gender, country, interests, weights };
  capAndNormalise(user, p.maxInterests);
  return user;
}

/** Keeps the `max` heaviest interests and rescales the weights to sum to 1. */
function capAndNormalise(u: SynthUser, max: number): void {
  if (u.interests.length > max) {
    const order = u.weights.map((_, i) => i).sort((a, b) => u.weights[b] - u.weights[a] || a - b);
    const keep = order.slice(0, max).sort((a, b) => a - b);
    u.interests = keep.map((i) => u.interests[i]);
    u.weights = keep.map((i) => u.weights[i]);
  }
  let total = 0;
  for (const w of u.weights) total += w;
  // Gamma draws can underflow to 0 for tiny alpha; fall back to uniform weights then.
  for (let i = 0; i < u.weights.length; i++) {
    u.weights[i] = total > 0 ? u.weights[i] / total : 1 / u.weights.length;
  }
}

/** A category from the user's interests, by weight. */
export function drawInterest(u: SynthUser, rng: Rng): number {
  return u.interests[rng.weighted(u.weights)];
}

/**
 * A category the user is not (yet) interested in: family from the demographic prior, category
 * by mass within it. Up to 16 tries to avoid the current interests (a user interested in every
 * category of the likely families may get one of them).
 */
export function drawNewInterest(cat: Catalog, p: WorldParams, u: SynthUser, rng: Rng): number {
  const prior = familyPrior(cat, p, u.age, u.gender, u.country);
  let c = 0;
  for (let t = 0; t < 16; t++) {
    c = aliasDraw(cat.byFamily, rng.weighted(prior), rng);
    if (!u.interests.includes(c)) return c;
  }
  return c;
}

/**
 * Interest drift at a session start: adopt a new interest (weight 1/I before rescaling), jitter
 * every weight by exp(driftSd·z), drop the weakest beyond maxInterests, rescale to sum 1.
 */
export function drift(cat: Catalog, p: WorldParams, u: SynthUser, rng: Rng): void {
  const c = drawNewInterest(cat, p, u, rng);
  if (!u.interests.includes(c)) {
    u.interests.push(c);
    u.weights.push(1 / u.interests.length);
  }
  for (let i = 0; i < u.weights.length; i++) u.weights[i] *= Math.exp(p.driftSd * rng.normal());
  capAndNormalise(u, p.maxInterests);
}

/** The users.jsonl line; each demographic is omitted with probability demoMissingRate. */
export function userLine(u: SynthUser, p: WorldParams, rng: Rng): string {
  const row: Record<string, unknown> = { id: `u${u.index}` };
  if (!rng.bernoulli(p.demoMissingRate)) row.age = u.age;
  if (!rng.bernoulli(p.demoMissingRate)) row.country = COUNTRY_CODES[u.country];
  if (!rng.bernoulli(p.demoMissingRate)) row.gender = GENDERS[u.gender];
  return JSON.stringify(row);
}

/** The truth/users.jsonl line: the interest mixture as it stands at request time (after drift). */
export function userTruthLine(u: SynthUser): string {
  return JSON.stringify({
    id: `u${u.index}`,
    interests: u.interests.map((c, i) => ({ category: `c${c}`, weight: u.weights[i] })),
  });
}
