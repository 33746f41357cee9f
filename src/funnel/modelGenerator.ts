/**
 * A trained two-tower model as a funnel candidate generator. Per batch of requests `[B]`:
 *
 *   state    each user's events in the world's logs strictly BEFORE the request time (copies;
 *            the offline encoder's view, with nothing at or after the request)
 *   context  Related-Items: the subject item's categories; Search: the query's categories; the
 *            model's context encoder applies the trained top-k rule (the baseline has no context
 *            layer and ignores it)
 *   demog.   from the request (age bucket, country, gender), coded in the model's vocabularies
 *   users    `scorer.userEmbeddings(batch)` → `[B, d]` (one tfjs pass per chunk)
 *   top-K    exact inner product over every item (`ExactIndex`), restricted to the items eligible
 *            in the user's country, the subject item left out
 *
 * The CG gets `CandidateRequest`s, which carry no target: the held-out next conversion cannot
 * reach the model (test: modelGenerator.test.ts records everything the scorer receives).
 * Shapes: B requests, H history events of a batch, C context categories of a batch, N items, d width.
 */
import { CtxrecError, requireArg } from "../core/errors.ts";
import { ageBucket, type CompiledDataset } from "../data/dataset.ts";
import { DEMOGRAPHIC_FIELDS, type DemographicField } from "../data/schema.ts";
import type { CategoryContext, EmbeddingScorer, HistoryBatch } from "../eval/scorer.ts";
import { Eligibility } from "../index/eligibility.ts";
import { ExactIndex } from "../index/exact.ts";
import type { CtxrecModel } from "../model/model.ts";
import { createModelScorer } from "../model/scorer.ts";
import { trainedContextEncoder } from "../train/contextEncoder.ts";
import type { CandidateGenerator, CandidateRequest, ScoredItem } from "./candidateGenerator.ts";
import { type Catalog, isEligible } from "./catalog.ts";

export interface ModelGeneratorArgs {
  /** CG name in reports (e.g. "ctxrec", "ctxrec-baseline"). */
  name: string;
  /**
   * The model as an embedding scorer (`createModelScorer(model, name, { context:
   * trainedContextEncoder(k) })`); its item rows are the data set's item codes.
   */
  scorer: EmbeddingScorer;
  /** The world's compiled logs (`loadDataset({ format: "jsonl", path: world })`): histories, codes. */
  ds: CompiledDataset;
  /** The world's catalogue (eligibility by country, as the auction applies it). */
  cat: Catalog;
  /** Model version for the index manifest. Default: the CG name. */
  modelVersion?: string;
  /**
   * The model's history length L (`model.config.encoder.maxLen`): requests are embedded in groups
   * of equal effective history length min(n, L). Default: no grouping (one batch).
   */
  maxLen?: number;
}

/**
 * User embeddings `[B, d]` of the requests, embedded in groups of equal effective history length
 * min(n, L). Why: the scorer pads each chunk to its longest history, and tensors of another shape
 * take other kernel paths whose float rounding differs in the last bits; grouping by length makes
 * a request's embedding (and so its top-K) the same whichever batch it comes in, as the CG
 * contract demands.
 */
async function embedGrouped(
  scorer: EmbeddingScorer,
  ds: CompiledDataset,
  requests: readonly CandidateRequest[],
  maxLen: number | undefined,
): Promise<Float32Array> {
  const d = scorer.dim;
  const B = requests.length;
  if (maxLen === undefined) return scorer.userEmbeddings(requestBatch(ds, requests));
  const full = requestBatch(ds, requests);
  const groups = new Map<number, number[]>();
  for (let b = 0; b < B; b++) {
    const n = Math.min(maxLen, full.historyOffsets[b + 1] - full.historyOffsets[b]);
    const g = groups.get(n);
    if (g) g.push(b);
    else groups.set(n, [b]);
  }
  const out = new Float32Array(B * d);
  for (const rows of groups.values()) {
    const u = await scorer.userEmbeddings(
      requestBatch(
        ds,
        rows.map((b) => requests[b]),
      ),
    );
    rows.forEach((b, j) => {
      out.set(u.subarray(j * d, (j + 1) * d), b * d);
    });
  }
  return out;
}

/** The first position of `timestamps[start, end)` (sorted) with a time ≥ `time`. */
function firstAtOrAfter(timestamps: Float64Array, start: number, end: number, time: number): number {
  let lo = start;
  let hi = end;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (timestamps[mid] < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The request's demographic codes in `ds`'s vocabularies; 1 (missing) where unknown. */
function demographicCodes(ds: CompiledDataset, r: CandidateRequest): Record<DemographicField, number> {
  const code = (f: DemographicField, v: string | undefined) =>
    v === undefined ? 1 : (ds.demographics[f].vocab.get(v) ?? 1);
  return {
    age: code("age", r.age === undefined ? undefined : ageBucket(r.age)),
    country: code("country", r.country),
    gender: code("gender", r.gender),
    occupation: 1,
  };
}

/**
 * The `HistoryBatch` of a batch of requests: copies of each user's events strictly before the
 * request time, the requests' demographics, and their context (subject item's or query's
 * categories) in CSR form. A user without events in the logs gets an empty history.
 */
export function requestBatch(ds: CompiledDataset, requests: readonly CandidateRequest[]): HistoryBatch {
  const B = requests.length;
  const users = new Int32Array(B);
  const starts = new Int32Array(B);
  const historyOffsets = new Int32Array(B + 1);
  for (let b = 0; b < B; b++) {
    const u = ds.userVocab.get(requests[b].user) ?? 0;
    users[b] = u;
    const start = u > 0 ? ds.offsets[u] : 0;
    const cut = u > 0 ? firstAtOrAfter(ds.timestamps, start, ds.offsets[u + 1], requests[b].time) : 0;
    starts[b] = start;
    historyOffsets[b + 1] = historyOffsets[b] + (cut - start);
  }
  const H = historyOffsets[B];
  const items = new Int32Array(H);
  const types = new Int32Array(H);
  const timestamps = new Float64Array(H);
  for (let b = 0; b < B; b++) {
    const n = historyOffsets[b + 1] - historyOffsets[b];
    // `set` copies: the batch shares no memory with the logs.
    items.set(ds.items.subarray(starts[b], starts[b] + n), historyOffsets[b]);
    types.set(ds.types.subarray(starts[b], starts[b] + n), historyOffsets[b]);
    timestamps.set(ds.timestamps.subarray(starts[b], starts[b] + n), historyOffsets[b]);
  }
  const demographics = {} as Record<DemographicField, Int32Array>;
  for (const f of DEMOGRAPHIC_FIELDS) demographics[f] = new Int32Array(B);
  requests.forEach((r, b) => {
    const codes = demographicCodes(ds, r);
    for (const f of DEMOGRAPHIC_FIELDS) demographics[f][b] = codes[f];
  });
  return {
    size: B,
    users,
    historyOffsets,
    items,
    types,
    timestamps,
    demographics,
    context: requestContext(ds, requests),
  };
}

/**
 * The requests' context categories `[C]` in CSR form (codes in `ds.categoryVocab`, confidences):
 * the subject item's categories, or the query's. A query category no item carries has no code and
 * no embedding, so it is left out (it could not move the model anyway).
 */
function requestContext(ds: CompiledDataset, requests: readonly CandidateRequest[]): CategoryContext {
  const offsets = new Int32Array(requests.length + 1);
  const categories: number[] = [];
  const confidences: number[] = [];
  const items = new Int32Array(requests.length);
  requests.forEach((r, b) => {
    if (r.subjectItem !== undefined) {
      const s = ds.itemVocab.get(r.subjectItem);
      if (s === undefined) {
        throw new CtxrecError(
          "CTXREC_ERR_DATA_UNKNOWN_ID",
          `subject item '${r.subjectItem}' of request '${r.id}' is not in the model's data set; use the world the model was trained on`,
          { param: "request.subjectItem" },
        );
      }
      items[b] = s;
      for (let p = ds.catOffsets[s]; p < ds.catOffsets[s + 1]; p++) {
        categories.push(ds.catIds[p]);
        confidences.push(ds.catConf[p]);
      }
    } else {
      for (const c of r.categories) {
        const code = ds.categoryVocab.get(c.id);
        if (code === undefined) continue;
        categories.push(code);
        confidences.push(c.confidence);
      }
    }
    offsets[b + 1] = categories.length;
  });
  return {
    kind: "categories",
    offsets,
    categories: Int32Array.from(categories),
    confidences: Float32Array.from(confidences),
    items,
  };
}

/** The model CG (see the module comment). Item embeddings and the index are built on first use. */
export function createModelGenerator(args: ModelGeneratorArgs): CandidateGenerator {
  const { ds, cat, scorer, name, maxLen } = args;
  const names = ds.itemVocab.names;
  const N = names.length - 1;
  // Index row r is item code r + 1 (code 0, padding, is not indexed and so never returned).
  const ids = names.slice(1);
  for (const id of ids) {
    if (!cat.itemIndex.has(id)) {
      throw new CtxrecError(
        "CTXREC_ERR_DATA_UNKNOWN_ID",
        `item '${id}' of the model's data set is not in the world's items.jsonl; use the world the model was trained on`,
        { param: `CG ${name}` },
      );
    }
  }
  let index: ExactIndex | undefined;
  const filters = new Map<string, Eligibility>();
  const filterFor = (country: string | undefined): Eligibility => {
    const key = country ?? "\u0000none";
    let f = filters.get(key);
    if (f === undefined) {
      f = Eligibility.fromPredicate(N, (r) => isEligible(cat, cat.itemIndex.get(ids[r]) as number, country));
      filters.set(key, f);
    }
    return f;
  };
  return {
    name,
    async retrieveMany(requests, k): Promise<ScoredItem[][]> {
      if (requests.length === 0) return [];
      if (index === undefined) {
        const all = await scorer.itemEmbeddings();
        const d = scorer.dim;
        index = ExactIndex.build(
          { vectors: all.subarray(d, (N + 1) * d), ids, dim: d },
          { modelVersion: args.modelVersion ?? name },
        );
      }
      const d = scorer.dim;
      const users = await embedGrouped(scorer, ds, requests, maxLen);
      return requests.map((r, b) => {
        // One extra so that leaving out the subject item still leaves k.
        const res = (index as ExactIndex).search(
          users.subarray(b * d, (b + 1) * d),
          k + 1,
          filterFor(r.country),
        );
        const out: ScoredItem[] = [];
        for (let j = 0; j < res.ids.length && out.length < k; j++) {
          if (res.ids[j] !== r.subjectItem) out.push({ item: res.ids[j], score: res.scores[j] });
        }
        return out;
      });
    },
  };
}

/** A trained model to run as a CG, with or without a context layer. */
export interface ModelCgSpec {
  /** CG name in reports. */
  name: string;
  model: CtxrecModel;
  /** The pseudo-context k the model was trained with (its context rule); needed with a context layer. */
  contextK?: number;
  /** Model version for the index manifest. */
  version?: string;
}

/**
 * The CG of a trained model on the world of `ds` and `cat`: a model with a context layer reads the
 * request's context through its trained top-k rule; one without ignores the context.
 */
export function modelCandidateGenerator(
  m: ModelCgSpec,
  ds: CompiledDataset,
  cat: Catalog,
): CandidateGenerator {
  let scorer: EmbeddingScorer;
  if (m.model.context !== undefined) {
    const k = m.contextK;
    requireArg(
      k !== undefined,
      `CG ${m.name}`,
      "a model with a context layer needs the pseudo-context k it was trained with",
    );
    scorer = createModelScorer(m.model, m.name, { context: trainedContextEncoder(k) });
  } else {
    scorer = createModelScorer(m.model, m.name);
  }
  return createModelGenerator({
    name: m.name,
    scorer,
    ds,
    cat,
    modelVersion: m.version,
    maxLen: m.model.config.encoder.maxLen,
  });
}
