/** End to end: the README's main job (`ctxrec demo`), on the tiny preset so it runs in seconds. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ctxrec } from "./cli.ts";

const root = mkdtempSync(path.join(tmpdir(), "ctxrec-demo-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("ctxrec demo", () => {
  it("generates the world, reads it through the data layer and simulates the funnel", () => {
    const run = ctxrec(["demo", "--preset", "tiny", "--seed", "3", "--out", root]);
    expect(run.status, run.stderr).toBe(0);
    // The tiny preset has 300 users and 200 items; the data layer must read back what synth wrote.
    expect(run.stdout).toMatch(/synth: tiny world \(seed 3, .*: 300 users, 200 items/);
    expect(run.stdout).toMatch(/^users:\s+300$/m);
    expect(run.stdout).toMatch(/^items:\s+200$/m);
    const events = Number(/^events:\s+([\d,]+)$/m.exec(run.stdout)?.[1].replaceAll(",", ""));
    const manifest = JSON.parse(readFileSync(path.join(root, "world/world.json"), "utf8"));
    expect(events).toBe(manifest.counts.events);
    const funnel = JSON.parse(readFileSync(path.join(root, "funnel.json"), "utf8"));
    expect(Object.keys(funnel.metrics)).toEqual(["random", "popularity", "context-only", "oracle"]);
    expect(funnel.metrics.oracle["recall@100"]).toBeGreaterThan(funnel.metrics.random["recall@100"]);
  });
});
