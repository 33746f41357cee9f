/**
 * The evaluation never lets a model see the event it is judged on: a spy scorer records every
 * batch `loo` hands it, and the histories must be exactly the events strictly before the target
 * (test: the first len-1 events; validation: the first len-2), with no context and no memory
 * shared with the data set. Runs on a small hand-made data set and on MovieLens-100K when present.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { CompiledDataset } from "../data/dataset.ts";
import { loadDataset } from "../data/load.ts";
import { rankLoo } from "./loo.ts";
import type { LooTarget } from "./result.ts";
import type { DirectScorer, EmbeddingScorer, HistoryBatch } from "./scorer.ts";
import { datasetFromSequences } from "./testData.ts";

/** A scorer that records (user code → history item codes) and returns constant scores. */
function spy(N: number): { scorer: DirectScorer; seen: Map<number, number[]>; batches: HistoryBatch[] } {
  const seen = new Map<number, number[]>();
  const batches: HistoryBatch[] = [];
  const scorer: DirectScorer = {
    kind: "direct",
    name: "spy",
    async scoreAll(batch) {
      batches.push(batch);
      for (let b = 0; b < batch.size; b++) {
        const u = batch.users[b];
        expect(seen.has(u), `user ${u} scored twice`).toBe(false);
        seen.set(u, Array.from(batch.items.subarray(batch.historyOffsets[b], batch.historyOffsets[b + 1])));
      }
      return new Float32Array(batch.size * N);
    },
  };
  return { scorer, seen, batches };
}

/** Checks one `loo` pass: histories are exactly the events before the target, nothing more. */
async function checkNoLeak(ds: CompiledDataset, target: LooTarget): Promise<number> {
  const { scorer, seen, batches } = spy(ds.itemVocab.size);
  await rankLoo(ds, scorer, { target, batchSize: 100 });
  const hold = target === "test" ? 1 : 2; // events held out at the end of the sequence
  let evaluated = 0;
  for (let u = 1; u < ds.offsets.length - 1; u++) {
    const start = ds.offsets[u];
    const end = ds.offsets[u + 1];
    if (end - start < 3) {
      expect(seen.has(u), `user ${u} has < 3 events and must not be evaluated`).toBe(false);
      continue;
    }
    evaluated++;
    const history = seen.get(u);
    // exactly the first len-1 (test) or len-2 (validation) events, in time order
    expect(history).toEqual(Array.from(ds.items.subarray(start, end - hold)));
  }
  expect(seen.size).toBe(evaluated);
  for (const batch of batches) {
    expect(batch.context).toBeUndefined(); // loo passes no context, so none can be derived from the target
    // copies, not views: a scorer cannot index past the history into the target through a batch
    expect(batch.items.buffer).not.toBe(ds.items.buffer);
    expect(batch.timestamps.buffer).not.toBe(ds.timestamps.buffer);
    expect(batch.types.buffer).not.toBe(ds.types.buffer);
    expect(batch.items.length).toBe(batch.historyOffsets[batch.size]);
  }
  return evaluated;
}

describe("no leakage of the target into the model's inputs", () => {
  it("small data set: test and validation histories stop before their targets", async () => {
    const ds = await datasetFromSequences({
      u1: ["a", "b", "c", "d", "e"],
      u2: ["c", "a", "f"],
      u3: ["b", "e"],
      u4: ["g", "a", "b", "a"],
    });
    expect(await checkNoLeak(ds, "test")).toBe(3);
    expect(await checkNoLeak(ds, "validation")).toBe(3);
  });

  it("a 'repeat the last history item' oracle never hits: the target is not the last history event", async () => {
    // No sequence repeats an item twice in a row, so if the target leaked in as the last history event this
    // scorer would get HIT@1 = 1; with a correct cut it never ranks the target first.
    const ds = await datasetFromSequences({
      u1: ["a", "b", "c", "d"],
      u2: ["d", "c", "b", "a"],
      u3: ["e", "a", "e"],
    });
    const N = ds.itemVocab.size;
    const lastItem: EmbeddingScorer = {
      kind: "embedding",
      name: "last-item",
      dim: N,
      // identity: item i's embedding is the one-hot e_i, so score(i) = user[i]
      itemEmbeddings: () => Float32Array.from({ length: N * N }, (_, j) => (j % (N + 1) === 0 ? 1 : 0)),
      userEmbeddings: async (batch) => {
        const out = new Float32Array(batch.size * N);
        for (let b = 0; b < batch.size; b++) out[b * N + batch.items[batch.historyOffsets[b + 1] - 1]] = 1;
        return out;
      },
    };
    const r = await rankLoo(ds, lastItem);
    expect(Math.min(...r.unfiltered)).toBeGreaterThan(0);
  });

  it("mutating a batch does not change the data set", async () => {
    const ds = await datasetFromSequences({ u1: ["a", "b", "c", "d"] });
    const before = Array.from(ds.items);
    const vandal: DirectScorer = {
      kind: "direct",
      name: "vandal",
      async scoreAll(batch) {
        batch.items.fill(0);
        return new Float32Array(batch.size * ds.itemVocab.size);
      },
    };
    await rankLoo(ds, vandal);
    expect(Array.from(ds.items)).toEqual(before);
  });

  const repoRoot = path.resolve(import.meta.dirname, "../..");
  const ml100k = path.resolve(repoRoot, "../shared/data/ml-100k");
  it.skipIf(!existsSync(path.join(ml100k, "u.data")))(
    `MovieLens-100K: every user's test and validation history (skipped when ${ml100k} is absent)`,
    async () => {
      const ds = await loadDataset({ format: "movielens-100k", path: ml100k });
      expect(await checkNoLeak(ds, "test")).toBe(943);
      expect(await checkNoLeak(ds, "validation")).toBe(943);
    },
  );
});
