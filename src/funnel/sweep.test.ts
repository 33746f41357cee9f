/**
 * The funnel sweep on tiny worlds with tiny models trained for one epoch: the JSON has every metric
 * for every (surface, r, CG) and every lift key, models are trained once per seed (the logs do not
 * depend on r), and a seed's run is reproduced exactly by a second sweep.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LIFT_KEYS } from "./modelFunnel.ts";
import { type FunnelSweepArgs, runFunnelSweep } from "./sweep.ts";
import { formatSweepTables, sweepMetricKeys } from "./sweepSummary.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-sweep-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const base = (out: string, rs: number[], seeds: number[]): FunnelSweepArgs => ({
  rs,
  seeds,
  preset: "tiny",
  outDir: path.join(tmp, out),
  worldOverrides: { users: 120 },
  model: { encoder: { dim: 8, heads: 2, ffn: 16, blocks: 1, maxLen: 10 }, context: { dim: 8 } },
  // Epoch-bound (the time budget is far away), so training is deterministic.
  train: { epochs: 1, maxMinutes: 10, uniformNegatives: 32, evalEvery: 1 },
  funnel: { k: 10 },
});

describe("runFunnelSweep", () => {
  it("summarises every metric for every r, surface and CG, and reproduces a seed", async () => {
    const a = await runFunnelSweep(base("a", [0, 1], [1, 2]));
    expect(a.surfaces).toEqual(["related", "search"]);
    expect(a.cgs).toEqual(["random", "popularity", "context-only", "oracle", "ctxrec", "ctxrec-baseline"]);
    expect(a.runs).toHaveLength(4);
    for (const s of a.surfaces) {
      for (const r of ["0", "1"]) {
        for (const cg of a.cgs) {
          for (const key of sweepMetricKeys(10)) {
            const iv = a.summary[s][r][cg][key];
            expect(iv.values).toHaveLength(2);
            expect(iv.n).toBeGreaterThan(0);
            expect(iv.mean).not.toBeNull();
          }
        }
        for (const key of LIFT_KEYS) expect(a.lift[s][r][key].values).toHaveLength(2);
      }
    }
    // One training per seed: the two r worlds of a seed share their logs and their models.
    const seed1 = a.runs.filter((x) => x.seed === 1);
    expect(seed1[0].logsHash).toBe(seed1[1].logsHash);
    expect(seed1[0].models.contextual.version).toBe(seed1[1].models.contextual.version);
    expect(a.runs.find((x) => x.seed === 2)?.logsHash).not.toBe(seed1[0].logsHash);
    // The oracle knows the truth: its recall beats random's in every world.
    for (const run of a.runs) {
      const m = run.surfaces.related?.metrics;
      expect(m?.oracle["recall@10"]).toBeGreaterThan(m?.random["recall@10"] ?? 1);
    }
    expect(formatSweepTables(a, a)).toMatch(/related, r = 1/);
    // The settings both models trained with travel with the result (a reader can rerun them).
    expect(a.training.contextualModel.context.enabled).toBe(true);
    expect(a.training.train).toMatchObject({ epochs: 1, uniformNegatives: 32 });
    expect(a.training.train).not.toHaveProperty("seed");
    expect(a.worldOverrides).toEqual({ users: 120 });

    const b = await runFunnelSweep(base("b", [1], [1]));
    expect(b.runs[0].surfaces).toEqual(a.runs.find((x) => x.seed === 1 && x.r === 1)?.surfaces);
    expect(b.runs[0].models.baseline.version).toBe(seed1[0].models.baseline.version);
  });
});
