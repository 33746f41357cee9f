/**
 * End-to-end evaluation on the real data sets: the reference scorers' sanity figures under the
 * `loo` protocol (they pin the harness to figures known from the literature) and `ctxrec eval`.
 */

import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadDataset } from "../src/data/load.ts";
import { createCooccurrenceScorer, createPopularityScorer } from "../src/eval/baselines.ts";
import { evaluateLoo } from "../src/eval/loo.ts";
import { ctxrec, repoRoot } from "./cli.ts";
import { needsData } from "./sharedData.ts";

const dataDir = path.resolve(repoRoot, "../shared/data");
const ml100k = path.join(dataDir, "ml-100k");
const beauty = path.join(dataDir, "amazon-beauty/Beauty.txt");
const haveMl = existsSync(path.join(ml100k, "u.data"));
const haveBeauty = existsSync(beauty);
const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-eval-e2e-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!haveBeauty)(needsData("Amazon Beauty, loo", haveBeauty, beauty), () => {
  it("popularity HIT@10 is in the published 0.01–0.03 band; co-occurrence is far above it", async () => {
    const ds = await loadDataset({ format: "s3rec", path: beauty });
    const pop = await evaluateLoo(ds, createPopularityScorer(ds));
    expect(pop.users).toBe(22_363); // every Beauty user has ≥ 5 events
    expect(pop.metrics["hit@10"]).toBeGreaterThan(0.01);
    expect(pop.metrics["hit@10"]).toBeLessThan(0.03);
    // removing the history only helps: a history item can no longer sit above the target
    expect(pop.metrics["hit@10"]).toBeGreaterThanOrEqual(pop.metricsUnfiltered["hit@10"]);
    const cooc = await evaluateLoo(ds, createCooccurrenceScorer(ds));
    expect(cooc.metrics["hit@10"]).toBeGreaterThan(3 * pop.metrics["hit@10"]);
  });
});

describe.skipIf(!haveMl)(needsData("MovieLens-100K, ctxrec eval", haveMl, ml100k), () => {
  it("`ctxrec eval --baseline popularity --json` prints the table and writes the result", () => {
    const json = path.join(tmp, "pop.json");
    const run = ctxrec([
      "eval",
      "--format",
      "movielens-100k",
      "--path",
      ml100k,
      "--baseline",
      "popularity",
      "--protocol",
      "loo",
      "--json",
      json,
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^hit@10\s+0\.\d{4}\s+0\.\d{4}$/m);
    const result = JSON.parse(readFileSync(json, "utf8"));
    expect(result).toMatchObject({ protocol: "loo", target: "test", model: "popularity", users: 943 });
    expect(Object.keys(result.metrics).sort()).toEqual(
      ["hit@5", "hit@10", "hit@20", "ndcg@5", "ndcg@10", "ndcg@20", "mrr"].sort(),
    );
    // 943 users: every metric is a mean of per-user values in [0, 1]
    for (const v of Object.values(result.metricsUnfiltered)) expect(v).toBeGreaterThanOrEqual(0);
  });

  it("validation targets and an error for a missing --baseline", () => {
    const base = ["eval", "--format", "movielens-100k", "--path", ml100k];
    const valid = ctxrec([...base, "--baseline", "cooccurrence", "--target", "validation"]);
    expect(valid.status, valid.stderr).toBe(0);
    expect(valid.stdout).toContain("validation targets");
    const missing = ctxrec(base);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("CTXREC_ERR_ARG: parameter --baseline");
  });

  it("--versus ranks a second scorer on the same users and prints the paired differences", () => {
    const json = path.join(tmp, "versus.json");
    const args = ["eval", "--format", "movielens-100k", "--path", ml100k, "--baseline", "cooccurrence"];
    const run = ctxrec([...args, "--versus", "popularity", "--json", json]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/versus popularity on the same users/);
    expect(run.stdout).toMatch(
      /^ndcg@10\s+0\.\d{4}\s+0\.\d{4}\s+[+-]0\.\d{4}\s+\[[+-]0\.\d{4}, [+-]0\.\d{4}\]$/m,
    );
    const r = JSON.parse(readFileSync(json, "utf8"));
    const g = r.versus.gains["ndcg@10"];
    expect(g.mean).toBeCloseTo(r.metrics["ndcg@10"] - r.versus.metrics["ndcg@10"], 10);
    expect(g.ci95[0]).toBeLessThan(g.ci95[1]);
  });
});
