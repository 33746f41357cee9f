/** End to end: `ctxrec funnel` on a tiny world prints the table and writes the JSON metrics. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateWorld } from "../src/synth/generate.ts";
import { ctxrec } from "./cli.ts";

let root = "";
beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), "ctxrec-funnel-cli-"));
  await generateWorld({ preset: "tiny", seed: 5, outDir: path.join(root, "world") });
});
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("ctxrec funnel", () => {
  it("prints one row per reference CG and writes the per-CG metrics", () => {
    const json = path.join(root, "funnel.json");
    const { status, stdout, stderr } = ctxrec([
      "funnel",
      "--world",
      path.join(root, "world"),
      "--k",
      "10",
      "--slots",
      "3",
      "--seed",
      "2",
      "--json",
      json,
    ]);
    expect(status, stderr).toBe(0);
    expect(stdout).toMatch(/K 10, S 3, σ 0\.1, seed 2/);
    for (const name of ["random", "popularity", "context-only", "oracle"])
      expect(stdout).toMatch(new RegExp(`^${name}\\s`, "m"));
    const written = JSON.parse(readFileSync(json, "utf8"));
    expect(Object.keys(written.metrics)).toEqual(["random", "popularity", "context-only", "oracle"]);
    for (const m of Object.values(written.metrics) as Record<string, number>[]) {
      for (const key of [
        "recall@10",
        "relevance_median",
        "survival_impression_share",
        "survival_delivered_share",
      ]) {
        expect(typeof m[key], key).toBe("number");
      }
    }
    expect(written.utility).toEqual({ contextWeight: 0.5, familySmoothing: 0.25, popularityExponent: 0.5 });
  });

  it("names the bad option value", () => {
    const run = ctxrec(["funnel", "--world", path.join(root, "world"), "--k", "ten"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("CTXREC_ERR_ARG: parameter --k: 'ten' is not a number");
  });
});
