/**
 * End to end: the funnel with competing pools. Two small trained models (1 epoch, d 8: plumbing,
 * not quality) on a tiny world compete through `ctxrec eval --protocol funnel --cg …` (in
 * process); the per-CG rows must satisfy the identities of src/funnel/competition.ts; a CG
 * competing with itself adds nothing; a CG's own recall is what it has in the usual funnel; bad
 * --cg values give the documented errors; `funnel-sweep --cg` and the demo's --cg are checked too.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerEvalCommand } from "../src/cli/commands/eval.ts";
import { Rng } from "../src/core/rng.ts";
import { loadDataset } from "../src/data/load.ts";
import { initEngine } from "../src/engine/backend.ts";
import { runFunnelSweep } from "../src/funnel/sweep.ts";
import { formatCompetitionSweepTables } from "../src/funnel/sweepCompetition.ts";
import { saveModel } from "../src/model/artifact.ts";
import { resolveModelConfig } from "../src/model/config.ts";
import { itemFeaturesOf } from "../src/model/itemFeatures.ts";
import { createModel, disposeModel } from "../src/model/model.ts";
import { vocabSizesOf } from "../src/model/vocabSizes.ts";
import { runDemo } from "../src/pipeline/demo.ts";
import { trainModel } from "../src/pipeline/trainModel.ts";
import { generateWorld } from "../src/synth/generate.ts";
import { ctxrecInProcess } from "./cli.ts";

const run = (args: string[]) => ctxrecInProcess(registerEvalCommand, args);

const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-competition-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SEED = 4;
const worldArgs = { preset: "tiny", seed: SEED, overrides: { users: 120 } };
const world = path.join(tmp, "world");
const otherWorld = path.join(tmp, "other-world");
const ctxDir = path.join(tmp, "ctx");
const baseDir = path.join(tmp, "base");
const foreignDir = path.join(tmp, "foreign");
const model = { encoder: { dim: 8, heads: 2, ffn: 16, blocks: 1, maxLen: 10 }, context: { dim: 8 } };
const train = { epochs: 1, maxMinutes: 10, uniformNegatives: 32, seed: SEED };
const K = 20;
const funnelFlags = ["--world", world, "--k", String(K), "--slots", "3", "--surface", "related"];

type CgRow = Record<string, number>;

beforeAll(async () => {
  await initEngine();
  await generateWorld({ ...worldArgs, outDir: world });
  // Another catalogue size: another item vocabulary (the ids i0… of equal-sized worlds coincide).
  await generateWorld({
    preset: "tiny",
    seed: SEED + 1,
    overrides: { users: 120, items: 150 },
    outDir: otherWorld,
  });
  const ds = await loadDataset({ format: "jsonl", path: world });
  for (const [dir, contextual] of [
    [ctxDir, true],
    [baseDir, false],
  ] as const) {
    const t = await trainModel(ds, dir, { contextual, model, train, exportOnnx: false });
    disposeModel(t.model);
  }
  // A model of another world (untrained: only its item vocabulary matters here).
  const other = await loadDataset({ format: "jsonl", path: otherWorld });
  const m = createModel(
    resolveModelConfig({ ...model, context: { ...model.context, enabled: false } }),
    vocabSizesOf(other),
    itemFeaturesOf(other),
    new Rng(1),
  );
  saveModel(foreignDir, m, { dataset: other });
  disposeModel(m);
}, 120_000);

/** The competition's JSON for `--cg` values `cgs`. */
async function competition(cgs: string[], name: string) {
  const json = path.join(tmp, `${name}.json`);
  const stdout = await run([
    "eval",
    "--protocol",
    "funnel",
    ...funnelFlags,
    ...cgs.flatMap((c) => ["--cg", c]),
    "--json",
    json,
  ]);
  return { stdout, doc: JSON.parse(readFileSync(json, "utf8")) };
}

describe("ctxrec eval --protocol funnel --cg", () => {
  it("reports per CG rows that satisfy the pool identities", async () => {
    const { stdout, doc } = await competition([`ctx=${ctxDir}`, `base=${baseDir}`], "two");
    expect(stdout).toMatch(/^\[related\] competition: ctx vs base; /m);
    expect(stdout).toMatch(/^ctx\s+\d+\s+\d+\s+0\.\d{4}/m);
    expect(stdout).toMatch(/^\(merged pool\)\s+\d+\s+[01]\.\d{4}$/m);
    expect(doc.protocol).toBe("funnel-competition");
    expect(doc.cgs.ctx).toMatchObject({ dir: ctxDir, contextual: true });
    expect(doc.cgs.base).toMatchObject({ dir: baseDir, contextual: false });
    const s = doc.surfaces.related;
    expect(Object.keys(s.metrics)).toEqual(["ctx", "base"]);
    const ctx: CgRow = s.metrics.ctx;
    const base: CgRow = s.metrics.base;
    const rec = `recall@${K}`;
    const marg = `marginal_recall@${K}`;
    for (const m of [ctx, base]) {
      expect(m.candidates).toBeGreaterThan(0);
      expect(m.candidates).toBeLessThanOrEqual(K * s.requests);
      expect(m.candidates_exclusive).toBeLessThanOrEqual(m.candidates);
      expect(m.delivered_exclusive).toBeLessThanOrEqual(m.delivered);
      expect(m.delivered).toBeLessThanOrEqual(s.impressions);
      expect(m.survival_to_impression).toBeCloseTo(m.delivered / m.candidates, 12);
      expect(m.delivered_share_exclusive).toBeCloseTo(m.delivered_exclusive / s.impressions, 12);
      expect(m[marg]).toBeLessThanOrEqual(m[rec]);
      expect(m[marg]).toBeGreaterThanOrEqual(0);
    }
    // Shares of delivered impressions sum to 1 over the competitors.
    expect(ctx.delivered_share + base.delivered_share).toBeCloseTo(1, 12);
    // Two CGs: shared items = candidates − exclusive, the same count seen from either side, and the
    // merged pool is exclusive(ctx) + exclusive(base) + shared.
    const shared = ctx.candidates - ctx.candidates_exclusive;
    expect(base.candidates - base.candidates_exclusive).toBe(shared);
    expect(s.pool.candidates).toBe(ctx.candidates_exclusive + base.candidates_exclusive + shared);
    // Shared impressions: delivered − exclusive, again the same from either side; each credits ½.
    const sharedImp = ctx.delivered - ctx.delivered_exclusive;
    expect(base.delivered - base.delivered_exclusive).toBe(sharedImp);
    expect(ctx.delivered_share).toBeCloseTo((ctx.delivered_exclusive + sharedImp / 2) / s.impressions, 12);
    // Marginal recall = recall(all) − recall(all but c); with two CGs "all but c" is the other one.
    expect(ctx[marg]).toBeCloseTo(s.pool[rec] - base[rec], 12);
    expect(base[marg]).toBeCloseTo(s.pool[rec] - ctx[rec], 12);
    expect(s.pool[rec]).toBeGreaterThanOrEqual(Math.max(ctx[rec], base[rec]));
  });

  it("a CG competing with itself adds nothing; its own recall is the usual funnel's", async () => {
    const { doc } = await competition([`a=${ctxDir}`, `b=${ctxDir}`], "self");
    const s = doc.surfaces.related;
    for (const cg of ["a", "b"]) {
      expect(s.metrics[cg].candidates_exclusive).toBe(0);
      expect(s.metrics[cg].delivered_exclusive).toBe(0);
      expect(s.metrics[cg][`marginal_recall@${K}`]).toBe(0);
      expect(s.metrics[cg].delivered_share).toBeCloseTo(0.5, 12);
    }
    expect(s.pool.candidates).toBe(s.metrics.a.candidates);
    // The usual funnel (reference CGs + both models): the same model retrieves the same lists.
    const json = path.join(tmp, "usual.json");
    await run([
      "eval",
      "--protocol",
      "funnel",
      ...funnelFlags,
      "--model",
      ctxDir,
      "--baseline",
      baseDir,
      "--json",
      json,
    ]);
    const usual = JSON.parse(readFileSync(json, "utf8")).surfaces.related.metrics.ctxrec;
    expect(s.metrics.a[`recall@${K}`]).toBe(usual[`recall@${K}`]);
    expect(s.metrics.a.candidates).toBe(usual.candidates);
  });

  it("one CG alone: its marginal recall is its recall and it takes every impression", async () => {
    const { doc } = await competition([`base=${baseDir}`], "alone");
    const m = doc.surfaces.related.metrics.base;
    expect(m[`marginal_recall@${K}`]).toBe(m[`recall@${K}`]);
    expect(m.delivered_share).toBe(1);
    expect(m.delivered_exclusive).toBe(doc.surfaces.related.impressions);
  });

  it("refuses bad --cg values with errors that name the flag", async () => {
    const cg = (...values: string[]) =>
      run(["eval", "--protocol", "funnel", ...funnelFlags, ...values.flatMap((v) => ["--cg", v])]);
    await expect(cg(`ctx=${ctxDir}`, `ctx=${baseDir}`)).rejects.toMatchObject({
      code: "CTXREC_ERR_ARG",
      message: expect.stringMatching(/^parameter --cg ctx: CG name 'ctx' is given twice/),
    });
    await expect(cg(ctxDir)).rejects.toMatchObject({
      code: "CTXREC_ERR_ARG",
      message: expect.stringMatching(/^parameter --cg: '.*' is not name=DIR/),
    });
    await expect(cg(`ghost=${path.join(tmp, "nowhere")}`)).rejects.toMatchObject({
      code: "CTXREC_ERR_DATA_MISSING_FILE",
      message: expect.stringMatching(/^parameter --cg ghost: model folder .*nowhere does not exist/),
    });
    const empty = path.join(tmp, "empty");
    mkdirSync(empty, { recursive: true });
    await expect(cg(`empty=${empty}`)).rejects.toMatchObject({
      code: "CTXREC_ERR_DATA_MISSING_FILE",
      message: expect.stringMatching(/^parameter --cg empty: .* has no manifest\.json/),
    });
    await expect(cg(`ctx=${ctxDir}`, `foreign=${foreignDir}`)).rejects.toMatchObject({
      code: "CTXREC_ERR_DATA_UNKNOWN_ID",
      message: expect.stringMatching(/^parameter --cg foreign: the model was trained on \d+ items/),
    });
    await expect(
      run(["eval", "--protocol", "funnel", ...funnelFlags, "--cg", `ctx=${ctxDir}`, "--model", ctxDir]),
    ).rejects.toMatchObject({
      code: "CTXREC_ERR_ARG",
      message: expect.stringMatching(/^parameter --model: --model does not go with --cg/),
    });
    await expect(
      run(["eval", "--protocol", "loo", "--world", world, "--model", ctxDir, "--cg", `ctx=${ctxDir}`]),
    ).rejects.toMatchObject({
      code: "CTXREC_ERR_ARG",
      message: expect.stringMatching(/^parameter --world: --world belongs to --protocol funnel/),
    });
  });
});

describe("funnel-sweep and the demo with --cg", () => {
  it("the sweep runs ctxrec against the competitor per seed and r, with intervals over seeds", async () => {
    // The sweep's seed-4 worlds have the logs of `world` (the logs do not depend on r), so the
    // baseline trained on it is a valid competitor for that seed; given as DIR/seed4.
    const perSeed = path.join(tmp, "rivals");
    mkdirSync(perSeed, { recursive: true });
    cpSync(baseDir, path.join(perSeed, `seed${SEED}`), { recursive: true });
    const result = await runFunnelSweep({
      rs: [0.5],
      seeds: [SEED],
      preset: "tiny",
      outDir: path.join(tmp, "sweep"),
      worldOverrides: { users: 120 },
      model,
      train: { epochs: 1, maxMinutes: 10, uniformNegatives: 32 },
      funnel: { k: K },
      search: false,
      competitors: [{ name: "shopping", dir: perSeed }],
    });
    const c = result.competition;
    expect(c?.cgs).toEqual(["ctxrec", "shopping"]);
    const run0 = result.runs[0].competition?.related;
    const shares = Object.values(run0?.metrics ?? {}).map((m) => m.delivered_share ?? 0);
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const iv = c?.summary.related["0.5"].shopping[`marginal_recall@${K}`];
    expect(iv?.values).toEqual([run0?.metrics.shopping[`marginal_recall@${K}`]]);
    expect(iv?.low).toBeNull(); // one seed: no interval
    expect(c?.pool.related["0.5"][`recall@${K}`].mean).toBe(run0?.pool[`recall@${K}`]);
    expect(formatCompetitionSweepTables(c as NonNullable<typeof c>, result)).toMatch(
      /competition, related, r = 0\.5: ctxrec vs shopping/,
    );
    // The usual sweep figures are still there.
    expect(result.cgs).toContain("ctxrec-baseline");
  }, 120_000);

  it("the sweep refuses a reserved name or a seed without a folder before training", async () => {
    const args = {
      rs: [0.5],
      seeds: [SEED, SEED + 1],
      preset: "tiny",
      outDir: path.join(tmp, "sweep-refused"),
      train: { epochs: 1 },
    };
    await expect(
      runFunnelSweep({ ...args, competitors: [{ name: "ctxrec", dir: baseDir }] }),
    ).rejects.toMatchObject({
      code: "CTXREC_ERR_ARG",
      message: expect.stringMatching(/^parameter --cg ctxrec: 'ctxrec' is the name of a CG/),
    });
    await expect(
      runFunnelSweep({ ...args, competitors: [{ name: "shopping", dir: path.join(tmp, "rivals") }] }),
    ).rejects.toMatchObject({
      code: "CTXREC_ERR_DATA_MISSING_FILE",
      message: expect.stringMatching(new RegExp(`^parameter --cg shopping: .*seed${SEED + 1}`)),
    });
  });

  it("the demo refuses a bad competitor before it generates anything", async () => {
    const out = path.join(tmp, "demo");
    await expect(
      runDemo({ outDir: out, quick: true, competitors: [{ name: "ghost", dir: path.join(tmp, "nowhere") }] }),
    ).rejects.toMatchObject({ code: "CTXREC_ERR_DATA_MISSING_FILE" });
    await expect(
      runDemo({ outDir: out, quick: true, competitors: [{ name: "ctxrec-baseline", dir: baseDir }] }),
    ).rejects.toMatchObject({ code: "CTXREC_ERR_ARG" });
    expect(existsSync(out)).toBe(false);
  });
});
