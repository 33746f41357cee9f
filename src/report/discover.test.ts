import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findInputFiles, inputKindOf, loadRunInputs } from "./discover.ts";
import { writeReportFixtures } from "./testFixtures.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-report-discover-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("runs folder discovery", () => {
  it("maps base names to kinds (case-insensitive), ignores everything else", () => {
    expect(inputKindOf("loo-beauty.json")).toBe("loo");
    expect(inputKindOf("LOO.json")).toBe("loo");
    expect(inputKindOf("stale-context.json")).toBe("stale");
    expect(inputKindOf("sweep.json")).toBe("sweep");
    expect(inputKindOf("funnel.json")).toBe("funnel");
    expect(inputKindOf("quality.json")).toBe("quality");
    expect(inputKindOf("serve-quick.json")).toBe("serve");
    expect(inputKindOf("ablations-quick.json")).toBe("ablations");
    expect(inputKindOf("manifest.json")).toBeUndefined();
    expect(inputKindOf("loo.md")).toBeUndefined();
    expect(inputKindOf("my-loo.json")).toBeUndefined();
  });

  it("searches recursively, skipping hidden folders, node_modules and links", () => {
    const dir = path.join(tmp, "walk");
    writeReportFixtures(dir);
    mkdirSync(path.join(dir, ".cache"), { recursive: true });
    writeFileSync(path.join(dir, ".cache/loo-hidden.json"), "not json");
    mkdirSync(path.join(dir, "node_modules/x"), { recursive: true });
    writeFileSync(path.join(dir, "node_modules/x/quality.json"), "not json");
    writeFileSync(path.join(dir, "manifest.json"), "{}");
    symlinkSync(path.join(dir, "sweep"), path.join(dir, "sweep-link"));
    const found = findInputFiles(dir).map((f) => `${f.kind} ${path.relative(dir, f.file)}`);
    expect(found).toEqual([
      "ablations bench/ablations.json",
      "quality bench/quality.json",
      "serve bench/serve.json",
      "funnel demo/funnel.json",
      "loo eval/loo-ml100k-popularity.json",
      "loo loo-beauty-baseline.json",
      "loo loo-beauty-contextual.json",
      "stale stale-beauty.json",
      "stale stale-ml100k.json",
      "sweep sweep/sweep.json",
    ]);
  });

  it("loads and validates every file; the same file through two --runs folders counts once", () => {
    const dir = path.join(tmp, "load");
    writeReportFixtures(dir);
    const inputs = loadRunInputs([dir, path.join(dir, "bench")]);
    expect(Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.length]))).toEqual({
      loo: 3,
      stale: 2,
      sweep: 1,
      funnel: 1,
      quality: 1,
      serve: 1,
      ablations: 1,
    });
    expect(inputs.stale[0].data.settings.map((s) => s.setting)).toEqual([
      "drop-last 1",
      "drop-last 2",
      "drop-last 4",
    ]);
  });

  it("a malformed file stops loading with its path; a missing folder names --runs", () => {
    const dir = path.join(tmp, "bad");
    mkdirSync(path.join(dir, "x"), { recursive: true });
    writeFileSync(
      path.join(dir, "x/quality.json"),
      JSON.stringify({ rows: [{ dataset: "b", variant: 3, metrics: {} }] }),
    );
    expect(() => loadRunInputs([dir])).toThrow(/x\/quality\.json: rows\[0\]\.variant: .*found 3/);
    expect(() => loadRunInputs([path.join(tmp, "nope")])).toThrow(/runs folder .*nope does not exist/);
  });
});
