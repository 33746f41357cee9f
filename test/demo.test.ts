/**
 * End to end: the README's main job (`ctxrec demo --quick`), with budgets cut further (2 epochs
 * per model) so the whole pipeline runs in seconds: world → two models → store → index →
 * evaluations → report.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ctxrec } from "./cli.ts";

const root = mkdtempSync(path.join(tmpdir(), "ctxrec-demo-"));
const out = path.join(root, "demo");
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The paths named by the printed `ctxrec serve` command. */
function serveArgs(stdout: string): { model: string; index: string; store: string; port: string } {
  const m = /ctxrec serve --model (\S+) --index (\S+) --store (\S+) --port (\d+)/.exec(stdout);
  if (m === null) throw new Error(`no serve command in:\n${stdout}`);
  return { model: m[1], index: m[2], store: m[3], port: m[4] };
}

describe("ctxrec demo --quick", () => {
  it("runs every stage over an earlier demo's folder, writes the results and prints a serve command over existing files", () => {
    // An earlier demo's folder (it has demo.json) is replaced as a whole: its other files go.
    mkdirSync(path.join(out, "models"), { recursive: true });
    writeFileSync(path.join(out, "demo.json"), "{}");
    const leftover = path.join(out, "models", "left-over");
    writeFileSync(leftover, "from an earlier run");
    const run = ctxrec([
      "demo",
      "--quick",
      "--seed",
      "3",
      "--out",
      out,
      "--epochs",
      "2",
      "--max-minutes",
      "0.2",
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(existsSync(leftover)).toBe(false);

    const record = JSON.parse(readFileSync(path.join(out, "demo.json"), "utf8"));
    expect(record.mode).toBe("quick");
    expect(record.preset).toBe("tiny");
    expect(record.stages.map((s: { name: string }) => s.name)).toEqual([
      "world",
      "train contextual",
      "train baseline",
      "encode users",
      "item index",
      "eval loo",
      "eval stale-context",
      "eval funnel",
      "report",
    ]);
    // Each stage's timing is recorded and printed.
    for (const s of record.stages) {
      expect(s.seconds).toBeGreaterThanOrEqual(0);
      expect(run.stdout).toContain(`  ${s.name}`);
    }
    expect(record.models.contextual.epochs).toBe(2);
    expect(record.models.baseline.epochs).toBe(2);

    // The tiny preset: 300 users, all with ≥ 3 events, so loo scores all of them.
    const loo = JSON.parse(readFileSync(path.join(out, "loo-baseline.json"), "utf8"));
    expect(loo.protocol).toBe("loo");
    expect(loo.users).toBe(300);
    expect(JSON.parse(readFileSync(path.join(out, "loo-contextual.json"), "utf8")).users).toBe(300);
    const stale = JSON.parse(readFileSync(path.join(out, "stale-context.json"), "utf8"));
    expect(stale.protocol).toBe("stale-context");
    expect(stale.settings[0].setting).toBe("cutoff 24h");
    expect(Object.keys(stale.metrics).sort()).toEqual([
      "baseline",
      "contextual",
      "contextualNoContext",
      "fresh",
    ]);
    const funnel = JSON.parse(readFileSync(path.join(out, "funnel.json"), "utf8"));
    expect(Object.keys(funnel.surfaces).sort()).toEqual(["related", "search"]);
    expect(Object.keys(funnel.surfaces.related.metrics)).toEqual(
      expect.arrayContaining(["random", "popularity", "context-only", "oracle", "ctxrec", "ctxrec-baseline"]),
    );
    // The JSON names the folder the world lives in after the swap, not the staging folder.
    expect(funnel.world).toBe(path.join(out, "world"));

    // The report over the demo's own results, and where it is printed.
    const report = path.join(out, "report.html");
    expect(run.stdout).toContain(`report: ${report}`);
    expect(readFileSync(report, "utf8")).toMatch(/<svg/);

    const serve = serveArgs(run.stdout);
    expect(serve.model).toBe(path.join(out, "models", "contextual"));
    expect(existsSync(path.join(serve.model, "manifest.json"))).toBe(true);
    expect(existsSync(path.join(serve.model, "onnx", "manifest.json"))).toBe(true);
    expect(existsSync(serve.index)).toBe(true);
    expect(serve.store.startsWith("file:")).toBe(true);
    expect(existsSync(serve.store.slice("file:".length))).toBe(true);
    expect(serve.port).toBe("8080");
    expect(record.serveCommand).toBe(
      `npx ctxrec serve --model ${serve.model} --index ${serve.index} --store ${serve.store} --port 8080`,
    );
  });

  it("refuses to replace a folder that is not an earlier demo's, and leaves it as it was", () => {
    const other = path.join(root, "not-a-demo");
    mkdirSync(other);
    writeFileSync(path.join(other, "notes.txt"), "mine");
    const refused = ctxrec(["demo", "--quick", "--out", other]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(
      /CTXREC_ERR_ARG: .*not-a-demo exists and is not the output of an earlier demo/,
    );
    expect(readFileSync(path.join(other, "notes.txt"), "utf8")).toBe("mine");
  });
});
