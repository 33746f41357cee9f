/**
 * End-to-end `ctxrec eval --protocol stale-context`: two tiny models trained by `ctxrec train` on a
 * synthetic world (real timestamps), the readable table, the JSON document, and the argument
 * errors. Plumbing only (1 epoch, d 16): the real-data figures come from full trainings.
 */

import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerEvalCommand } from "../src/cli/commands/eval.ts";
import { ctxrec, ctxrecInProcess, repoRoot } from "./cli.ts";
import { needsData } from "./sharedData.ts";

/** `ctxrec ARGS…` in this process (no tsx start-up): resolves to stdout, rejects with the CtxrecError. */
const run = (args: string[]) => ctxrecInProcess(registerEvalCommand, args);

const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-stale-e2e-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const world = path.join(tmp, "world");
const data = ["--format", "jsonl", "--path", world];
const tiny = ["--dim", "16", "--blocks", "1", "--max-len", "10", "--negatives", "64", "--epochs", "1"];
const ctxDir = path.join(tmp, "ctx");
const baseDir = path.join(tmp, "base");

describe("ctxrec eval --protocol stale-context on a synthetic world", () => {
  beforeAll(() => {
    expect(ctxrec(["synth", "--preset", "tiny", "--out", world]).status).toBe(0);
    for (const [out, extra] of [
      [ctxDir, []],
      [baseDir, ["--no-context"]],
    ] as const) {
      const t = ctxrec(["train", ...data, "--out", out, ...tiny, "--eval-every", "1", "--no-test", ...extra]);
      expect(t.status, t.stderr).toBe(0);
    }
  }, 60_000);

  it("a cut-off sweep: the table and the JSON with baseline, contextual, fresh per setting", () => {
    const json = path.join(tmp, "stale.json");
    const e = ctxrec([
      "eval",
      "--protocol",
      "stale-context",
      "--model",
      ctxDir,
      "--baseline",
      baseDir,
      ...data,
      "--cutoff",
      "24h,7d",
      "--json",
      json,
    ]);
    expect(e.status, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/^cutoff 24h: \d+ of 300 users scored/m);
    expect(e.stdout).toMatch(/^cutoff 7d: \d+ of 300 users scored/m);
    expect(e.stdout).toMatch(/^ndcg@10\s+(0\.\d{4}\s+){4}[+-]0\.\d{4}/m);
    expect(e.stdout).toContain("top 4 categories (the model's training k)");
    const r = JSON.parse(readFileSync(json, "utf8"));
    expect(r).toMatchObject({ protocol: "stale-context", dataset: "jsonl:world" });
    expect(r.models.contextual).toMatch(/^ctxrec@[0-9a-f]{12}$/);
    expect(r.models.baseline).toMatch(/^ctxrec-baseline@[0-9a-f]{12}$/);
    expect(r.settings.map((s: { setting: string }) => s.setting)).toEqual(["cutoff 24h", "cutoff 7d"]);
    expect(r.settings[0].cutoffSeconds).toBe(86_400);
    expect(r.users).toBe(r.settings[0].users);
    expect(r.users).toBeGreaterThan(0);
    expect(Object.keys(r.metrics).sort()).toEqual(["baseline", "contextual", "contextualNoContext", "fresh"]);
    for (const figure of Object.values(r.metrics) as Record<string, number>[]) {
      expect(Object.keys(figure).sort()).toEqual(
        ["hit@5", "hit@10", "hit@20", "ndcg@5", "ndcg@10", "ndcg@20", "mrr"].sort(),
      );
    }
    // the users of a setting: scored + excluded = candidates
    const s = r.settings[0];
    expect(s.users + s.excluded.contextInState + s.excluded.emptyState).toBe(s.candidates);
  });

  it("drop-last works on timestamped data too; the models must be the right way round", async () => {
    const base = ["eval", "--protocol", "stale-context", ...data];
    const out = await run([...base, "--model", ctxDir, "--baseline", baseDir, "--drop-last", "2"]);
    expect(out).toMatch(/^drop-last 2: \d+ of 300 users scored/m);
    await expect(run([...base, "--model", baseDir, "--baseline", ctxDir])).rejects.toThrow(
      /parameter --model: .*no context layer/,
    );
    await expect(run([...base, "--model", ctxDir, "--baseline", ctxDir])).rejects.toThrow(
      /parameter --baseline: .*has a context layer/,
    );
  });

  it("argument errors name the flag and the fix", async () => {
    const stale = ["eval", "--protocol", "stale-context", ...data];
    await expect(run([...stale, "--model", ctxDir])).rejects.toThrow(
      /parameter --baseline: .*--baseline DIR2/,
    );
    await expect(run(["eval", "--baseline", "popularity", "--cutoff", "24h", ...data])).rejects.toThrow(
      /--cutoff belongs to --protocol stale-context/,
    );
    await expect(run(["eval", "--baseline", baseDir, ...data])).rejects.toThrow(
      /parameter --baseline: .*not a reference scorer/,
    );
    const both = [...stale, "--model", ctxDir, "--baseline", baseDir];
    await expect(run([...both, "--cutoff", "1 week"])).rejects.toThrow(
      /parameter --cutoff: '1 week' is not a duration/,
    );
    await expect(run([...both, "--cutoff", "1h", "--drop-last", "1"])).rejects.toThrow(/not both/);
    await expect(run([...both, "--drop-last", "0"])).rejects.toThrow(
      /parameter --drop-last: expected event counts ≥ 1/,
    );
    await expect(run([...both, "--versus", "popularity"])).rejects.toThrow(
      /parameter --versus: --versus belongs to --protocol loo/,
    );
    // --target validation is the protocol one event earlier (for choices made without the test split).
    expect(await run([...both, "--drop-last", "1", "--target", "validation"])).toMatch(
      /protocol stale-context \(second-to-last \(validation\) event of each user/,
    );
  });
});

const beauty = path.resolve(repoRoot, "../shared/data/amazon-beauty/Beauty.txt");
describe.skipIf(!existsSync(beauty))(needsData("Amazon Beauty", existsSync(beauty), beauty), () => {
  it("refuses a time cut-off on data whose timestamps are positions", () => {
    const r = ctxrec([
      ...["eval", "--protocol", "stale-context", "--model", "none", "--baseline", "none"],
      ...["--format", "s3rec", "--path", beauty, "--cutoff", "24h"],
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /parameter --cutoff: the s3rec data set has no real timestamps.*--drop-last 1,2,4/,
    );
  });
});
