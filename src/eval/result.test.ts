import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type EvalResult, formatEvalTable, writeEvalJson } from "./result.ts";

const result: EvalResult = {
  protocol: "loo",
  target: "test",
  dataset: "s3rec:Beauty.txt",
  model: "popularity",
  metrics: { "hit@5": 0.5, "ndcg@5": 0.25, "hit@10": 0.75, "ndcg@10": 0.3, mrr: 0.2 },
  metricsUnfiltered: { "hit@5": 0.4, "ndcg@5": 0.2, "hit@10": 0.7, "ndcg@10": 0.25, mrr: 0.1 },
  users: 22363,
  targetsInHistory: 0,
};
const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-eval-result-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("EvalResult output", () => {
  it("table lists hit@K, then ndcg@K by K, then mrr, filtered and unfiltered", () => {
    const table = formatEvalTable(result);
    expect(table).toContain("model popularity, 22,363 users");
    const rows = table.split("\n").filter((l) => /^(hit|ndcg|mrr)/.test(l));
    expect(rows.map((r) => r.split(/\s+/)[0])).toEqual(["hit@5", "hit@10", "ndcg@5", "ndcg@10", "mrr"]);
    expect(rows[1]).toMatch(/^hit@10\s+0\.7500\s+0\.7000$/);
  });

  it("JSON is written atomically and reads back equal", () => {
    const file = path.join(tmp, "eval.json");
    writeEvalJson(file, result);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(result);
    expect(readdirSync(tmp)).toEqual(["eval.json"]); // no temp file left behind
  });

  it("a missing folder gives a CtxrecError naming the file", () => {
    const file = path.join(tmp, "no/such/dir/eval.json");
    expect(() => writeEvalJson(file, result)).toThrow(new RegExp(`${file}.*--json`));
  });
});
