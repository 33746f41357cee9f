/**
 * End-to-end data layer: the real data sets (counts the issue fixes), the `ctxrec data` CLI, and
 * the synthetic world's JSONL read back through the JSONL reader.
 */

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodeDataset, encodeDataset } from "../src/data/artifact.ts";
import { loadDataset } from "../src/data/load.ts";
import { datasetStats } from "../src/data/stats.ts";
import { generateWorld } from "../src/synth/generate.ts";
import { ctxrec, repoRoot } from "./cli.ts";
import { needsData } from "./sharedData.ts";

const dataDir = path.resolve(repoRoot, "../shared/data");
const ml100k = path.join(dataDir, "ml-100k");
const beauty = path.join(dataDir, "amazon-beauty/Beauty.txt");
const beautyAttrs = path.join(dataDir, "amazon-beauty/Beauty_item2attributes.json");
const haveMl = existsSync(path.join(ml100k, "u.data"));
const haveBeauty = existsSync(beauty) && existsSync(beautyAttrs);
const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-data-e2e-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!haveMl)(needsData("MovieLens-100K", haveMl, ml100k), () => {
  it("has 943 users, 1,682 items, 100,000 events, 19 genres, full demographics; survives an artifact round trip", async () => {
    const ds = await loadDataset({ format: "movielens-100k", path: ml100k });
    const s = datasetStats(ds);
    expect([s.users, s.items, s.events, s.categories]).toEqual([943, 1682, 100_000, 19]);
    expect(ds.demographics.occupation.vocab.size - 2).toBe(21); // 21 occupations (+ pad, missing)
    // u.data is in no order: every user's sequence must come out time-sorted
    let unsorted = 0;
    for (let u = 1; u < ds.offsets.length - 1; u++)
      for (let e = ds.offsets[u] + 1; e < ds.offsets[u + 1]; e++)
        if (ds.timestamps[e - 1] > ds.timestamps[e]) unsorted++;
    expect(unsorted).toBe(0);
    const back = decodeDataset(encodeDataset(ds));
    expect(Array.from(back.items)).toEqual(Array.from(ds.items));
  });

  it("`ctxrec data stats` prints the counts", () => {
    const run = ctxrec(["data", "stats", "--format", "movielens-100k", "--path", ml100k]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain("users:              943\n");
    expect(run.stdout).toContain("items:              1,682\n");
    expect(run.stdout).toContain("events:             100,000\n");
  });
});

describe.skipIf(!haveBeauty)(
  needsData("Amazon Beauty, S3-Rec", haveBeauty, `${beauty} or its attributes`),
  () => {
    it("has 22,363 users, 12,101 items, 198,502 events and 637 attribute categories", async () => {
      const ds = await loadDataset({ format: "s3rec", path: beauty, attributes: beautyAttrs });
      const s = datasetStats(ds);
      expect([s.users, s.items, s.events, s.categories]).toEqual([22_363, 12_101, 198_502, 637]);
      expect([s.seqLen.min, s.seqLen.max]).toEqual([5, 204]);
      expect(ds.report.itemsWithoutCategories).toBe(0);
    });

    it("`ctxrec data stats --json` prints the counts", () => {
      const run = ctxrec([
        "data",
        "stats",
        "--format",
        "s3rec",
        "--path",
        beauty,
        "--attributes",
        beautyAttrs,
        "--json",
      ]);
      expect(run.status, run.stderr).toBe(0);
      const out = JSON.parse(run.stdout);
      expect([out.users, out.items, out.events]).toEqual([22_363, 12_101, 198_502]);
    });
  },
);

describe("ctxrec data (CLI)", () => {
  it("compiles an artifact and reloads it with --format artifact", async () => {
    const world = path.join(tmp, "world");
    await generateWorld({ preset: "tiny", seed: 3, outDir: world, overrides: { users: 60 } });
    const art = path.join(tmp, "world.ctxds");
    const compile = ctxrec(["data", "compile", "--format", "jsonl", "--path", world, "--out", art]);
    expect(compile.status, compile.stderr).toBe(0);
    expect(compile.stdout).toMatch(/^wrote .*world\.ctxds: 60 users, [\d,]+ items, [\d,]+ events\n$/);
    const direct = datasetStats(await loadDataset({ format: "jsonl", path: world }));
    const run = ctxrec(["data", "stats", "--format", "artifact", "--path", art, "--json"]);
    expect(run.status, run.stderr).toBe(0);
    const viaArtifact = JSON.parse(run.stdout);
    expect([viaArtifact.users, viaArtifact.items, viaArtifact.events]).toEqual([
      direct.users,
      direct.items,
      direct.events,
    ]);
    expect(direct.eventTypes).toBeGreaterThan(0); // the world's event types come through
  });

  it("exits 2 with file:line: field: reason on a bad row; --skip-invalid reports it", async () => {
    const dir = path.join(tmp, "bad");
    mkdirSync(dir);
    writeFileSync(path.join(dir, "items.jsonl"), '{"id":"i1","categories":[]}\n');
    writeFileSync(
      path.join(dir, "events.jsonl"),
      '{"user":"u","item":"i1","timestamp":1}\n{"user":"u","item":"i1","timestamp":-1}\n',
    );
    const run = ctxrec(["data", "stats", "--format", "jsonl", "--path", dir]);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(
      "ctxrec: CTXREC_ERR_DATA_BAD_ROW: events.jsonl:2: timestamp: expected Unix seconds (a number ≥ 0) or an ISO-8601 date-time with a zone (e.g. 2024-05-01T12:00:00Z), got -1\n",
    );
    // The CLI's text for a skip is formatStats over this report (unit-checked in the readers' tests).
    const skipped = await loadDataset({ format: "jsonl", path: dir, skipInvalid: true });
    expect(skipped.report.invalidRows).toBe(1);
    expect(skipped.report.invalidReasons[0]).toMatch(/^events\.jsonl:2: timestamp: expected Unix seconds/);
  });
});
