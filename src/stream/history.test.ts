/**
 * The stream builds the offline batch's encoder input: for every user of a synthetic world, the
 * logs a seeder keeps (the newest L + 1 events) give `logBatch` rows equal, slot for slot, to
 * `historyBatch` over the whole history (the extra event only gives the first its time gap).
 */
import { rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CompiledDataset } from "../data/dataset.ts";
import { vocabsOf } from "../model/artifact.ts";
import { historyBatch } from "../offline/encodeUsers.ts";
import { usersToEncode } from "../offline/users.ts";
import { tinyWorld } from "../serve/testBundle.ts";
import { codeMaps, logBatch } from "./history.ts";
import { datasetSeeder } from "./seed.ts";

let root: string;
let ds: CompiledDataset;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "ctxrec-stream-history-"));
  ds = await tinyWorld(root, 11);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("logBatch", () => {
  for (const L of [1, 3, 10]) {
    it(`equals historyBatch for every user of the tiny world with L = ${L}`, () => {
      const users = usersToEncode(ds);
      const seeder = datasetSeeder(ds, L + 1);
      const logs = Array.from(users, (u) => seeder.seed(ds.userVocab.names[u]));
      // Users with more than L + 1 events are cut: the case the extra event is there for.
      expect(
        logs.filter((l, b) => l.length < ds.offsets[users[b] + 1] - ds.offsets[users[b]]).length,
      ).toBeGreaterThan(0);
      const got = logBatch(logs, codeMaps(vocabsOf(ds)), L);
      const want = historyBatch(ds, users, L);
      expect(got.unknown).toBe(0);
      expect(got.x).toEqual(want);
      for (let b = 0; b < users.length; b++)
        expect(got.newest[b]).toBe(ds.timestamps[ds.offsets[users[b] + 1] - 1]);
    });
  }

  it("skips and counts logged events the model does not know; an empty log has no newest time", () => {
    const maps = codeMaps({ items: ["<pad>", "a"], types: ["<pad>", "<missing>", "view"] });
    const r = logBatch(
      [
        [
          { item: "a", type: undefined, timestamp: 1 },
          { item: "gone", type: undefined, timestamp: 2 },
          { item: "a", type: "buy", timestamp: 3 },
          { item: "a", type: "view", timestamp: 70 },
        ],
        [],
      ],
      maps,
      4,
    );
    expect(r.unknown).toBe(2);
    // Row 0: a (no type → code 1) then a (view → 2); row 1 empty. Padded to L = 4.
    expect(Array.from(r.x.items)).toEqual([1, 1, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(r.x.types)).toEqual([1, 2, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(r.x.lengths)).toEqual([2, 0]);
    expect(r.newest[0]).toBe(70);
    expect(r.newest[1]).toBeNaN();
  });
});
