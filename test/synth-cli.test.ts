import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ctxrec } from "./cli.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-synth-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("ctxrec synth", () => {
  it("writes a tiny world with --q/--r and prints a summary line and statistics", () => {
    const out = path.join(tmp, "w");
    const run = ctxrec([
      "synth",
      "--preset",
      "tiny",
      "--seed",
      "4",
      "--out",
      out,
      "--q",
      "0.25",
      "--r",
      "1",
      "--stats",
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /^synth: tiny world \(seed 4, q 0\.25, r 1\) → .*: 300 users, 200 items, 40 categories, [\d,]+ events, 300 requests in [\d.]+ s\n/,
    );
    expect(run.stdout).toContain("next conversion carries the intent:");
    const manifest = JSON.parse(readFileSync(path.join(out, "world.json"), "utf8"));
    expect(manifest.params).toMatchObject({ q: 0.25, r: 1 });
    expect(manifest.seed).toBe(4);
  });

  it("exits 2 with the parameter and its range on a bad value", () => {
    const run = ctxrec(["synth", "--preset", "tiny", "--out", path.join(tmp, "bad"), "--r", "1.2"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("ctxrec: CTXREC_ERR_ARG: parameter r: got 1.2;");
    expect(run.stderr).toContain("must be a number in [0, 1]");
    const set = ctxrec(["synth", "--preset", "tiny", "--out", path.join(tmp, "bad"), "--set", "users"]);
    expect(set.status).toBe(2);
    expect(set.stderr).toContain("parameter --set: 'users' is not NAME=VALUE");
  });
});
