/**
 * The CG contract as a check every CG can be run through (the reference CGs now, the trained model
 * later): one suite for all implementations, as TFRS checks every top-K index against one test.
 */
import { CtxrecError } from "../core/errors.ts";
import type { CandidateGenerator, CandidateRequest, ScoredItem } from "./candidateGenerator.ts";
import { type Catalog, isEligible } from "./catalog.ts";

/**
 * Throws CTXREC_ERR_ARG naming the CG, the request and the broken rule unless, for every request,
 * the CG returns ≤ k distinct known items, best first (scores non-increasing), without the subject
 * item or items ineligible in the user's country; answers a batch as it answers each request alone;
 * and answers the same way when asked twice.
 */
export async function checkCandidateGenerator(
  cg: CandidateGenerator,
  cat: Catalog,
  requests: readonly CandidateRequest[],
  k: number,
): Promise<void> {
  const batch = await cg.retrieveMany(requests, k);
  const again = await cg.retrieveMany(requests, k);
  const fail = (r: CandidateRequest, rule: string) => {
    throw new CtxrecError("CTXREC_ERR_ARG", rule, { param: `CG ${cg.name}, request ${r.id}` });
  };
  if (batch.length !== requests.length) {
    throw new CtxrecError(
      "CTXREC_ERR_SHAPE",
      `returned ${batch.length} lists for ${requests.length} requests`,
      {
        param: `CG ${cg.name}`,
      },
    );
  }
  for (let b = 0; b < requests.length; b++) {
    const r = requests[b];
    const list: ScoredItem[] = batch[b];
    if (list.length > k) fail(r, `returned ${list.length} items, more than k = ${k}`);
    if (new Set(list.map((s) => s.item)).size !== list.length) fail(r, "returned an item twice");
    for (let j = 0; j < list.length; j++) {
      const i = cat.itemIndex.get(list[j].item);
      if (i === undefined) fail(r, `returned unknown item '${list[j].item}'`);
      else if (!isEligible(cat, i, r.country))
        fail(r, `returned '${list[j].item}', not eligible in ${r.country}`);
      if (list[j].item === r.subjectItem) fail(r, "returned the subject item");
      if (j > 0 && list[j].score > list[j - 1].score)
        fail(r, `scores increase at position ${j}; return best first`);
    }
    const [alone] = await cg.retrieveMany([r], k);
    if (JSON.stringify(alone) !== JSON.stringify(list)) fail(r, "answers differently in a batch and alone");
    if (JSON.stringify(again[b]) !== JSON.stringify(list)) fail(r, "answers differently when asked twice");
  }
}
