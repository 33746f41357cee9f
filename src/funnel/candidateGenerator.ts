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
import type { OnsiteRequest, WorldUser } from "../synth/types.ts";

/** One onsite request as a CG sees it (the recall target is stripped). */
export interface CandidateRequest {
  /** Request id (stable; seeds per-request randomness). */
  id: string;
  user: string;
  /** The item the user is looking at: the context. */
  subjectItem: string;
  /** Unix seconds; a model's cached state must be older than this. */
  time: number;
  /** The user's demographics, where known (the context layer's other input). */
  country?: string;
  age?: number;
  gender?: string;
}

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
export function toCandidateRequest(request: OnsiteRequest, user: WorldUser | undefined): CandidateRequest {
  const out: CandidateRequest = {
    id: request.id,
    user: request.user,
    subjectItem: request.subjectItem,
    time: request.time,
  };
  if (user?.country !== undefined) out.country = user.country;
  if (user?.age !== undefined) out.age = user.age;
  if (user?.gender !== undefined) out.gender = user.gender;
  return out;
}
