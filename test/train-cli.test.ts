/**
 * End-to-end `ctxrec train` → model folder → `ctxrec eval --model` on a synthetic world and on the
 * real data sets (tiny configurations and 1 epoch: this checks the plumbing, bench:quality checks
 * quality).
 */

import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { busyMachineWarning, defaultTrainThreads, registerTrainCommand } from "../src/cli/commands/train.ts";
import { ctxrec, ctxrecInProcess, repoRoot } from "./cli.ts";
import { needsData } from "./sharedData.ts";

const dataDir = path.resolve(repoRoot, "../shared/data");
const ml100k = path.join(dataDir, "ml-100k");
const beauty = path.join(dataDir, "amazon-beauty/Beauty.txt");
const attrs = path.join(dataDir, "amazon-beauty/Beauty_item2attributes.json");
const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-train-e2e-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const tiny = [
  "--dim",
  "16",
  "--blocks",
  "1",
  "--max-len",
  "10",
  "--negatives",
  "64",
  "--epochs",
  "1",
  "--eval-every",
  "1",
];

function trainAndEval(name: string, data: string[], extra: string[] = []) {
  const out = path.join(tmp, name);
  const t = ctxrec(["train", ...data, "--out", out, ...tiny, ...extra]);
  expect(t.stderr + t.stdout).toMatch(/wrote /);
  expect(t.status).toBe(0);
  const manifest = JSON.parse(readFileSync(path.join(out, "manifest.json"), "utf8"));
  expect(manifest.format).toBe("ctxrec-model");
  expect(manifest.version).toMatch(/^[0-9a-f]{64}$/);
  expect(manifest.metrics["validation/ndcg@10"]).toBeGreaterThanOrEqual(0);
  const json = path.join(tmp, `${name}.json`);
  const e = ctxrec(["eval", "--model", out, ...data, "--protocol", "loo", "--json", json]);
  expect(e.status).toBe(0);
  const result = JSON.parse(readFileSync(json, "utf8"));
  expect(result.protocol).toBe("loo");
  expect(result.model).toMatch(/^ctxrec(-baseline)?@[0-9a-f]{12}$/);
  // The eval of the saved folder reproduces the test figure measured right after training.
  if (!extra.includes("--no-test")) {
    expect(result.metrics["ndcg@10"]).toBeCloseTo(manifest.metrics["test/ndcg@10"], 6);
  }
  return { manifest, result };
}

describe("ctxrec train / eval --model on a synthetic world", () => {
  it("trains the contextual model and the baseline, writes model folders, evaluates them", () => {
    const world = path.join(tmp, "world");
    expect(ctxrec(["synth", "--preset", "tiny", "--out", world]).status).toBe(0);
    const data = ["--format", "jsonl", "--path", world];
    const ctx = trainAndEval("synth-ctx", data);
    expect(ctx.manifest.config.context.enabled).toBe(true);
    // No --threads: every core of the machine.
    expect(ctx.manifest.training.args.threads).toBe(Math.min(64, os.availableParallelism()));
    const base = trainAndEval("synth-base", data, ["--no-context"]);
    expect(base.manifest.config.context.enabled).toBe(false);
    expect(base.result.model).toMatch(/^ctxrec-baseline@/);
  });

  it("--preset shopping-cg: no context, DCNv2 towers, the advertiser loss; a flag given wins", () => {
    const data = ["--format", "jsonl", "--path", path.join(tmp, "world")];
    const tasks = ["--engagement-types", "page_visit,add_to_cart", "--threads", "1"];
    const shop = trainAndEval("synth-shop", data, ["--preset", "shopping-cg", ...tasks]);
    expect(shop.manifest.config.context.enabled).toBe(false);
    expect(shop.manifest.config.tower.kind).toBe("dcnv2");
    expect(shop.manifest.training.args.advertiserWeight).toBe(0.1);
    expect(shop.manifest.training.args.engagementTypes).toEqual(["page_visit", "add_to_cart"]);
    const mlp = trainAndEval("synth-shop-mlp", data, [
      "--preset",
      "shopping-cg",
      "--tower",
      "mlp",
      "--no-test",
    ]);
    expect(mlp.manifest.config.tower).toBeUndefined(); // an mlp config stores no tower
    expect(mlp.manifest.training.args.advertiserWeight).toBe(0.1);
    const bad = ctxrec([
      "train",
      ...data,
      "--out",
      path.join(tmp, "bad"),
      ...tiny,
      "--engagement-types",
      "click",
    ]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/--engagement-types.*'click' is not in the data.*page_visit/);
  });

  it("trains data-parallel with --threads 2 and names the flag on a bad count", async () => {
    const data = ["--format", "jsonl", "--path", path.join(tmp, "world")];
    const dp = trainAndEval("synth-dp", data, ["--threads", "2"]);
    expect(dp.manifest.training.args.threads).toBe(2);
    for (const bad of ["0", "1.5", "two"]) {
      await expect(
        ctxrecInProcess(registerTrainCommand, [
          "train",
          ...data,
          "--out",
          path.join(tmp, "x"),
          "--threads",
          bad,
        ]),
      ).rejects.toThrow(/--threads/);
    }
  });

  it("defaults to the machine's cores and warns when other work already fills them", () => {
    expect(defaultTrainThreads()).toBe(Math.min(64, os.availableParallelism()));
    expect(busyMachineWarning(2, 3.1, 2)).toMatch(
      /load average 3\.1 on 2 cores: 2 training threads .* --threads 1/,
    );
    expect(busyMachineWarning(2, 1.5, 2)).toBeUndefined();
    expect(busyMachineWarning(1, 9, 2)).toBeUndefined();
  });

  it("refuses to evaluate a model on another data set's items", () => {
    const w2 = path.join(tmp, "world2");
    expect(ctxrec(["synth", "--preset", "small", "--seed", "2", "--out", w2]).status).toBe(0);
    const r = ctxrec(["eval", "--model", path.join(tmp, "synth-ctx"), "--format", "jsonl", "--path", w2]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/CTXREC_ERR_DATA_UNKNOWN_ID/);
  });
});

describe.skipIf(!existsSync(path.join(ml100k, "u.data")))(
  needsData("MovieLens-100K", existsSync(path.join(ml100k, "u.data")), ml100k),
  () => {
    it("trains one epoch and evaluates the folder", () => {
      trainAndEval("ml", ["--format", "movielens-100k", "--path", ml100k]);
    });
  },
);

describe.skipIf(!existsSync(beauty))(needsData("Amazon Beauty", existsSync(beauty), beauty), () => {
  it("trains one epoch with attributes and evaluates the folder", () => {
    trainAndEval(
      "beauty",
      ["--format", "s3rec", "--path", beauty, "--attributes", attrs],
      // A few seconds of training (the budget stops it mid-epoch) and no test pass: plumbing only.
      ["--max-minutes", "0.05", "--no-test"],
    );
  });
});
