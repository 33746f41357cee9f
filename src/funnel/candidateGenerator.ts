/**
 * The candidate-generator (CG) contract: what the funnel simulator asks of every CG, and what the
 * trained model plugs into later.
 *
 * A CG sees what a real retrieval service sees at request time — the user id, the subject item,
 * the request time and the user's demographics — and never the held-out next conversion, which is
 * why the simulator hands CGs a `CandidateRequest` (not the world's `OnsiteRequest`).
 *
 * Retrieval is batched and may be asynchronous (`retrieveMany`), because a model-backed CG wants
 * one feature-store `getMany`, one ONNX run over `[B, d]` and one ANN query batch per batch of
 * requests. `perRequestGenerator` adapts a simple per-request function to the batched form.
 */
import type { OnsiteRequest, SearchRequest, WorldUser } from "../synth/types.ts";

/** A context category with its confidence in (0, 1]. */
export interface ContextCategory {
  id: string;
  confidence: number;
}

/** What every request carries besides its context. */
interface RequestBase {
  /** Request id (stable; seeds per-request randomness). */
  id: string;
  user: string;
  /** Unix seconds; a model's cached state must be older than this. */
  time: number;
  /** The user's demographics, where known (the context layer's other input). */
  country?: string;
  age?: number;
  gender?: string;
}

/** Related-Items: the context is the item the user is looking at. */
export interface SubjectItemRequest extends RequestBase {
  subjectItem: string;
  categories?: undefined;
  query?: undefined;
}

/**
 * Search: the context is the query's categories (tokens mapped by the world's lexicon,
 * `queryCategories` of src/synth/search.ts). There is no subject item to leave out.
 */
export interface QueryRequest extends RequestBase {
  subjectItem?: undefined;
  /** The query tokens, for CGs that read text. */
  query: string[];
  /** The query's categories by decreasing confidence: the context-layer input. */
  categories: ContextCategory[];
}

/**
 * One onsite request as a CG sees it (the recall target is stripped). The context is a union
 * (DESIGN §2): a subject item (Related-Items) or query categories (Search); test
 * `request.subjectItem !== undefined` to tell them apart.
 */
export type CandidateRequest = SubjectItemRequest | QueryRequest;

/** A Search request with its query's categories resolved (what the simulator runs on). */
export type ResolvedSearchRequest = SearchRequest & { categories: ContextCategory[] };

/** A request of either surface, with its held-out target (simulator input, never a CG's). */
export type FunnelRequest = OnsiteRequest | ResolvedSearchRequest;

/** A retrieved item with the CG's own score (higher is better; only the CG's order matters). */
export interface ScoredItem {
  item: string;
  score: number;
}

/**
 * A candidate generator. `retrieveMany(requests, k)` returns, for each request `[B]`, at most `k`
 * distinct item ids, best first `[B][≤k]`. CGs should leave out the subject item and items not
 * eligible in the user's country (the auction drops them, so they only waste slots of K).
 */
export interface CandidateGenerator {
  readonly name: string;
  retrieveMany(requests: readonly CandidateRequest[], k: number): ScoredItem[][] | Promise<ScoredItem[][]>;
}

/** Builds a batched CG from a per-request retrieval function (the simple default). */
export function perRequestGenerator(
  name: string,
  retrieve: (request: CandidateRequest, k: number) => ScoredItem[],
): CandidateGenerator {
  return {
    name,
    retrieveMany: (requests, k) => requests.map((r) => retrieve(r, k)),
  };
}

/** The CG's view of an onsite request: its context and the user's demographics, not its target. */
export function toCandidateRequest(request: OnsiteRequest, user: WorldUser | undefined): SubjectItemRequest;
export function toCandidateRequest(request: FunnelRequest, user: WorldUser | undefined): CandidateRequest;
export function toCandidateRequest(request: FunnelRequest, user: WorldUser | undefined): CandidateRequest {
  const base = { id: request.id, user: request.user, time: request.time };
  // Copies, so a CG that mutates its request cannot change the simulator's.
  const out: CandidateRequest =
    "subjectItem" in request
      ? { ...base, subjectItem: request.subjectItem }
      : {
          ...base,
          query: [...request.query],
          categories: request.categories.map((c) => ({ id: c.id, confidence: c.confidence })),
        };
  if (user?.country !== undefined) out.country = user.country;
  if (user?.age !== undefined) out.age = user.age;
  if (user?.gender !== undefined) out.gender = user.gender;
  return out;
}
