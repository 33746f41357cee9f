/**
 * The per-request path (DESIGN §5): feature-store lookup (missing ⇒ cold start on the encoder's
 * empty-history state) → online tower (context layer + fusion head, ONNX) → ANN top-K under the
 * eligibility filter, the subject item left out. Kept lean on purpose: one `get`, one ORT run, one
 * index search, no copies beyond the response. Shapes: d width, K candidates.
 */
import { performance } from "node:perf_hooks";
import type { Eligibility } from "../index/eligibility.ts";
import type { ServeBundle } from "./bundle.ts";
import type { ResolvedRequest } from "./request.ts";

export interface Candidate {
  itemId: string;
  /** Inner product u · v_item. */
  score: number;
}

/** Milliseconds per stage. */
export interface StageTimings {
  storeMs: number;
  towerMs: number;
  annMs: number;
}

export interface CandidatesResponse {
  candidates: Candidate[];
  modelVersion: string;
  /** Seconds since the newest event the cached state saw; null on the cold-start path. */
  stateAgeSeconds: number | null;
  coldStart: boolean;
  timings: StageTimings;
  /** Request values that were treated as missing (unknown to the model), e.g. `demographics.country`. */
  warnings?: string[];
}

/**
 * The eligibility filter of a request: undefined (every item) without `filter.country` or when the
 * bundle has no item countries; an unknown country gets the items eligible everywhere (and a warning).
 */
function filterOf(b: ServeBundle, r: ResolvedRequest): Eligibility | undefined {
  if (r.filterCountry === undefined || b.countryFilter === undefined) return undefined;
  const code = b.countryFilter.codes.get(r.filterCountry);
  if (code === undefined) r.unknownFields.push("filter.country");
  return b.countryFilter.eligibility.forCountry(code);
}

const ms = (a: number, b: number) => Math.round((b - a) * 1000) / 1000;

/**
 * User embedding `[d]` of a resolved request on bundle `b`, plus whether the store had a state and
 * its age. Split from the search so the parity test can compare embeddings too.
 */
export async function embedRequest(
  b: ServeBundle,
  r: ResolvedRequest,
  nowSeconds: number,
): Promise<{ u: Float32Array; coldStart: boolean; stateAgeSeconds: number | null; t: number[] }> {
  const t0 = performance.now();
  const entry = await b.store.get(r.userId);
  const t1 = performance.now();
  const u = await b.model.online.embed({
    B: 1,
    h: entry?.vector ?? b.emptyState,
    context: r.context,
    demographics: r.demographics,
  });
  const t2 = performance.now();
  return {
    u,
    coldStart: entry === undefined,
    stateAgeSeconds:
      entry === undefined ? null : Math.round(Math.max(0, nowSeconds - entry.computedAt) * 1000) / 1000,
    t: [t0, t1, t2],
  };
}

/** Answers one resolved request on bundle `b`. */
export async function answerCandidates(b: ServeBundle, r: ResolvedRequest): Promise<CandidatesResponse> {
  const { u, coldStart, stateAgeSeconds, t } = await embedRequest(b, r, Date.now() / 1000);
  // One more than asked when the subject item may be among the results, so K survive its removal.
  const want = r.excludeItemId === undefined ? r.k : r.k + 1;
  const found = b.index.search(u, want, filterOf(b, r));
  const t3 = performance.now();
  const candidates: Candidate[] = [];
  for (let j = 0; j < found.ids.length && candidates.length < r.k; j++) {
    if (found.ids[j] === r.excludeItemId) continue;
    candidates.push({ itemId: found.ids[j], score: found.scores[j] });
  }
  const out: CandidatesResponse = {
    candidates,
    modelVersion: b.modelVersion,
    stateAgeSeconds,
    coldStart,
    timings: { storeMs: ms(t[0], t[1]), towerMs: ms(t[1], t[2]), annMs: ms(t[2], t3) },
  };
  if (r.unknownFields.length > 0)
    out.warnings = r.unknownFields.map((f) =>
      f === "filter.country"
        ? `${f}: unknown country, only items eligible everywhere were considered`
        : `${f}: unknown value, treated as missing`,
    );
  return out;
}
