/**
 * Every parameter of the synthetic world, its default, allowed range and meaning, and the three
 * presets. Parameters are parsed and validated once here; the generator receives the resolved,
 * typed `WorldParams`. `docs/synthetic-world.md` lists the same table (a test keeps them in step).
 */
import { CtxrecError } from "../core/errors.ts";

/** One parameter: default (the `small` preset's value), inclusive range, and meaning. */
interface ParamSpec {
  default: number;
  min: number;
  max: number;
  integer: boolean;
  doc: string;
}

const int = (d: number, min: number, max: number, doc: string): ParamSpec => ({
  default: d,
  min,
  max,
  integer: true,
  doc,
});
const real = (d: number, min: number, max: number, doc: string): ParamSpec => ({
  default: d,
  min,
  max,
  integer: false,
  doc,
});

/** The parameter table, in the order the docs list it. Defaults are the `small` preset. */
export const PARAM_SPECS = {
  // --- size
  users: int(20_000, 1, 50_000_000, "number of users"),
  items: int(10_000, 1, 20_000_000, "number of items (must be ≥ categories)"),
  categories: int(300, 1, 100_000, "number of interest categories (must be ≥ families)"),
  families: int(30, 1, 10_000, "number of category families; categories in a family are related"),
  advertisers: int(500, 1, 10_000_000, "number of advertisers"),
  countries: int(8, 1, 20, "number of countries (ISO codes taken in a fixed order: US, GB, DE, …)"),
  // --- items
  itemZipf: real(1.0, 0, 3, "Zipf exponent of item popularity (popularity ∝ 1/rank^s, ranks shuffled)"),
  categoryZipf: real(0.7, 0, 3, "Zipf exponent of category size (share of items whose primary it is)"),
  itemNoCategoryRate: real(0.01, 0, 0.5, "share of items with no category (real catalogues have them)"),
  itemExtraCategoryP: real(0.5, 0, 1, "chance of each further category after the first (at most 4 in all)"),
  itemSameFamilyP: real(0.8, 0, 1, "chance that a further category comes from the primary's family"),
  bidLogMean: real(0, -5, 5, "mean of log(advertiser base bid)"),
  bidLogSd: real(0.6, 0, 3, "standard deviation of log(advertiser base bid)"),
  bidItemSd: real(0.25, 0, 3, "standard deviation of log(item bid / advertiser base bid)"),
  itemGlobalRate: real(0.6, 0, 1, "share of items eligible in every country (no `countries` field)"),
  itemExtraCountryP: real(0.2, 0, 1, "for restricted items: chance of each country besides the advertiser's"),
  // --- users
  countryZipf: real(1.0, 0, 3, "Zipf exponent of user (and advertiser) countries"),
  demoMissingRate: real(0.05, 0, 1, "chance that each of age, country, gender is missing from users.jsonl"),
  demoStrength: real(1.0, 0, 5, "how strongly age, gender and country shift the family prior (0 = none)"),
  userFamiliesMean: real(2, 1, 20, "mean number of families a user is interested in (1 + Poisson)"),
  userCategoriesPerFamily: real(2, 1, 20, "mean number of interest categories per family (1 + Poisson)"),
  interestAlpha: real(1, 0.05, 20, "Dirichlet concentration of interest weights (small = peaked)"),
  maxInterests: int(12, 1, 1000, "cap on a user's interest categories (drift drops the weakest)"),
  // --- offsite conversion sequences
  eventsPerUser: real(20, 1, 10_000, "target mean events per user (log-normal, clipped to the bounds)"),
  eventsSd: real(0.8, 0, 3, "log-normal sigma of events per user"),
  minEvents: int(3, 1, 10_000, "fewest events per user"),
  maxEvents: int(500, 1, 100_000, "most events per user"),
  topicStay: real(0.6, 0, 1, "chance the next event keeps the current category"),
  familyStay: real(0.5, 0, 1, "when it moves: chance to move within the current family (else redraw)"),
  exploreRate: real(0.03, 0, 1, "chance an event is a popularity draw ignoring categories"),
  repeatRate: real(0.05, 0, 1, "chance an event repeats the previous item one funnel stage further"),
  driftRate: real(0.05, 0, 1, "chance, at each new session, that the interests drift"),
  driftSd: real(0.3, 0, 3, "log-scale noise applied to interest weights on a drift"),
  sessionContinueP: real(0.6, 0, 1, "chance the next event is in the same session"),
  sessionGapMinutes: real(10, 0.01, 10_000, "mean gap between events of one session (minutes)"),
  sessionGapDays: real(3, 0.001, 1000, "mean gap between sessions (days)"),
  startTime: int(1_704_067_200, 0, 4_000_000_000, "earliest first-event time (Unix s; 2024-01-01)"),
  startSpreadDays: real(60, 0, 10_000, "first events are spread uniformly over this many days"),
  typePageVisit: real(0.45, 0, 1, "relative weight of event type page_visit"),
  typeAddToCart: real(0.25, 0, 1, "relative weight of event type add_to_cart"),
  typeCheckout: real(0.2, 0, 1, "relative weight of event type checkout"),
  typeSignup: real(0.1, 0, 1, "relative weight of event type signup"),
  // --- onsite Related-Items requests
  requestRate: real(0.5, 0, 1, "share of users with one onsite request"),
  q: real(0.5, 0, 1, "chance the current intent comes from the long-term interests (else a new one)"),
  r: real(0.5, 0, 1, "context strength: chance the next conversion comes from the intent"),
  requestGapHours: real(24, 0, 100_000, "mean gap from the last event to the request (hours, +60 s)"),
  nextGapMinutes: real(30, 0, 100_000, "mean gap from the request to the next conversion (minutes, +1 s)"),
} as const satisfies Record<string, ParamSpec>;

export type ParamName = keyof typeof PARAM_SPECS;
/** Resolved parameters: every field set. */
export type WorldParams = { [K in ParamName]: number };
/** What a caller may override. */
export type ParamOverrides = Partial<WorldParams>;

export const PRESET_NAMES = ["tiny", "small", "large"] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** What each preset changes from the defaults (the defaults are `small`). */
const PRESET_DELTAS: Record<PresetName, ParamOverrides> = {
  // Tests: a few thousand events, generated in milliseconds.
  tiny: { users: 300, items: 200, categories: 40, families: 8, advertisers: 20, requestRate: 1 },
  small: {},
  // ≈20M events; streamed to disk. Fewer requests so readWorld stays light.
  large: {
    users: 1_000_000,
    items: 500_000,
    categories: 2_000,
    families: 100,
    advertisers: 20_000,
    countries: 12,
    requestRate: 0.1,
  },
};

function defaults(): WorldParams {
  const out = {} as WorldParams;
  for (const [name, spec] of Object.entries(PARAM_SPECS)) out[name as ParamName] = spec.default;
  return out;
}

/** The resolved parameters of a preset (no overrides). */
export function presetParams(name: string): WorldParams {
  if (!(PRESET_NAMES as readonly string[]).includes(name)) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `unknown preset '${name}'; use one of ${PRESET_NAMES.join(", ")}`,
      { param: "preset" },
    );
  }
  return { ...defaults(), ...PRESET_DELTAS[name as PresetName] };
}

function rangeText(spec: ParamSpec): string {
  return `${spec.integer ? "an integer" : "a number"} in [${spec.min}, ${spec.max}]`;
}

/**
 * A preset's parameters with overrides applied and validated. Throws CTXREC_ERR_ARG naming the
 * parameter, the bad value and the allowed range (or the cross-parameter rule that failed).
 */
export function resolveParams(preset: string, overrides: Record<string, unknown> = {}): WorldParams {
  const params = presetParams(preset);
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!Object.hasOwn(PARAM_SPECS, name)) {
      throw new CtxrecError(
        "CTXREC_ERR_ARG",
        `unknown parameter '${name}'; known parameters: ${Object.keys(PARAM_SPECS).join(", ")}`,
        { param: name },
      );
    }
    const spec: ParamSpec = PARAM_SPECS[name as ParamName];
    const ok =
      typeof value === "number" &&
      Number.isFinite(value) &&
      value >= spec.min &&
      value <= spec.max &&
      (!spec.integer || Number.isInteger(value));
    if (!ok) {
      throw new CtxrecError(
        "CTXREC_ERR_ARG",
        `got ${JSON.stringify(value) ?? String(value)}; ${name} (${spec.doc}) must be ${rangeText(spec)}`,
        { param: name },
      );
    }
    params[name as ParamName] = value;
  }
  checkCrossRules(params);
  return params;
}

/** Rules that tie parameters together. */
function checkCrossRules(p: WorldParams): void {
  const rule = (ok: boolean, param: string, reason: string) => {
    if (!ok) throw new CtxrecError("CTXREC_ERR_ARG", reason, { param });
  };
  rule(
    p.items >= p.categories,
    "items",
    `items (${p.items}) must be ≥ categories (${p.categories}) so every category has an item; raise items or lower categories`,
  );
  rule(
    p.categories >= p.families,
    "categories",
    `categories (${p.categories}) must be ≥ families (${p.families}) so every family has a category`,
  );
  rule(
    p.minEvents <= p.maxEvents,
    "minEvents",
    `minEvents (${p.minEvents}) must be ≤ maxEvents (${p.maxEvents})`,
  );
  rule(
    p.typePageVisit + p.typeAddToCart + p.typeCheckout + p.typeSignup > 0,
    "typePageVisit",
    "the event type weights typePageVisit, typeAddToCart, typeCheckout, typeSignup must not all be 0",
  );
}
