/**
 * The offline encode pipeline against a real SQLite store, with a plain-TypeScript stand-in for the
 * ONNX encoder (the ONNX graph itself is checked by src/onnx parity tests and end-to-end by
 * test/offline-cli.test.ts): which users are encoded, `--since`, resuming, activation, refusals.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CtxrecError } from "../core/errors.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import { loadDataset } from "../data/load.ts";
import { jsonl, type TempFolder, tempFolder } from "../data/testFiles.ts";
import type { EncoderInput } from "../onnx/runtime.ts";
import type { FeatureStore } from "../store/featureStore.ts";
import { openFeatureStore } from "../store/open.ts";
import { encodeUsers, type StateEncoder } from "./encodeUsers.ts";

const D = 3;
const L = 2;

/**
 * Stand-in encoder, `[B, 3]`: (Σ item codes, number of events, Σ gap buckets + 10 · Σ type codes)
 * over each row's real slots. Records the rows of every call.
 */
function fakeEncoder(calls: number[] = [], failOnCall?: number): StateEncoder {
  return {
    async encode(x: EncoderInput) {
      calls.push(x.B);
      if (calls.length === failOnCall) throw new Error("killed");
      const out = new Float32Array(x.B * D);
      for (let b = 0; b < x.B; b++) {
        for (let t = 0; t < x.lengths[b]; t++) {
          const o = b * x.len + t;
          out[b * D] += x.items[o];
          out[b * D + 1] += 1;
          out[b * D + 2] += x.gaps[o] + 10 * x.types[o];
        }
      }
      return out;
    },
  };
}

// u1: i1@100, i2@200, i3@300 (L = 2 keeps i2, i3); u2: i2@150; u3: i3@100, i4@1000 (checkout);
// u4: i5@50; u5 has a profile but no event.
const events = [
  { user: "u1", item: "i1", timestamp: 100 },
  { user: "u1", item: "i2", timestamp: 200 },
  { user: "u1", item: "i3", timestamp: 300 },
  { user: "u2", item: "i2", timestamp: 150 },
  { user: "u3", item: "i3", timestamp: 100 },
  { user: "u3", item: "i4", timestamp: 1000, type: "checkout" },
  { user: "u4", item: "i5", timestamp: 50 },
];
const items = ["i1", "i2", "i3", "i4", "i5"].map((id) => ({ id, categories: [] }));
const users = ["u1", "u2", "u3", "u4", "u5"].map((id) => ({ id }));

let tmp: TempFolder;
let ds: CompiledDataset;
let n = 0;
const stores: FeatureStore[] = [];

async function world(evs: readonly object[]): Promise<CompiledDataset> {
  const dir = path.join(tmp.dir, `world-${n++}`);
  tmp.write(path.join(path.basename(dir), "items.jsonl"), jsonl(items));
  tmp.write(path.join(path.basename(dir), "users.jsonl"), jsonl(users));
  tmp.write(path.join(path.basename(dir), "events.jsonl"), jsonl(evs));
  return loadDataset({ format: "jsonl", path: dir });
}

async function store(file: string, modelVersion = "v1", dim = D): Promise<FeatureStore> {
  const s = await openFeatureStore(`file:${path.join(tmp.dir, file)}`, { modelVersion, dim, mode: "write" });
  stores.push(s);
  return s;
}

const args = { modelVersion: "v1", dim: D, maxLen: L };

beforeAll(async () => {
  tmp = tempFolder("ctxrec-encode-");
  ds = await world(events);
});
afterAll(async () => {
  for (const s of stores) await s.close();
  tmp.remove();
});

const code = (id: string) => ds.itemVocab.get(id) as number;

describe("encodeUsers", () => {
  it("encodes every user with events (last L events, newest event time) and activates the version", async () => {
    const s = await store("all.db");
    const calls: number[] = [];
    const r = await encodeUsers(ds, fakeEncoder(calls), s, { ...args, batchSize: 3 });
    expect(r).toMatchObject({
      users: 4,
      encoded: 4,
      upToDate: 0,
      withoutEvents: 1,
      batches: 2,
      activated: true,
    });
    expect(calls).toEqual([3, 1]); // chunks of 3 users in code order: u1 u2 u3 | u4
    expect(await s.activeVersion()).toBe("v1");
    const [u1, u2, u3, u4, u5] = await s.getMany(["u1", "u2", "u3", "u4", "u5"]);
    expect(u5).toBeUndefined();
    // u1 keeps i2 (gap from i1: 100 s → bucket 2 + ⌊log2 101⌋ = 8) and i3 (gap 100 s → 8); type code 1 each.
    expect(Array.from(u1?.vector ?? [])).toEqual([code("i2") + code("i3"), 2, 8 + 8 + 10 * 2]);
    expect(u1?.computedAt).toBe(300);
    // u2: one event, no previous one → gap bucket 1.
    expect(Array.from(u2?.vector ?? [])).toEqual([code("i2"), 1, 1 + 10]);
    expect(u3?.computedAt).toBe(1000);
    expect(u3?.vector[1]).toBe(2);
    expect(u4?.computedAt).toBe(50);
    expect(u1?.modelVersion).toBe("v1");
  });

  it("with since, encodes only users with a newer event and does not activate", async () => {
    const s = await store("since.db");
    const r = await encodeUsers(ds, fakeEncoder(), s, { ...args, since: 500 });
    expect(r).toMatchObject({ users: 1, encoded: 1, activated: false });
    expect(await s.activeVersion()).toBeUndefined();
    const got = await s.getMany(["u1", "u3"]);
    expect(got[0]).toBeUndefined();
    expect(got[1]?.computedAt).toBe(1000);
  });

  it("resumes: skips up-to-date users, re-encodes stale ones, and a killed run finished later equals a clean run", async () => {
    const clean = await store("clean.db");
    await encodeUsers(ds, fakeEncoder(), clean, { ...args, batchSize: 1 });

    const s = await store("resume.db");
    // The 3rd encoder call fails: chunks 1 (u1) and 2 (u2) are written (the pipeline writes chunk
    // i while chunk i+1 is encoding, so chunk 2 is written before call 3's failure surfaces).
    await expect(encodeUsers(ds, fakeEncoder([], 3), s, { ...args, batchSize: 1 })).rejects.toThrow("killed");
    expect(await s.activeVersion()).toBeUndefined();
    expect((await s.getMany(["u1", "u2", "u3", "u4"])).map((e) => e !== undefined)).toEqual([
      true,
      true,
      false,
      false,
    ]);
    const calls: number[] = [];
    const r = await encodeUsers(ds, fakeEncoder(calls), s, { ...args, batchSize: 1 });
    expect(r).toMatchObject({ encoded: 2, upToDate: 2, activated: true });
    expect(calls).toEqual([1, 1]);
    const a = await s.getMany(["u1", "u2", "u3", "u4"]);
    const b = await clean.getMany(["u1", "u2", "u3", "u4"]);
    expect(a).toEqual(b);

    // New activity of u2 makes only u2 stale.
    const later = await world([...events, { user: "u2", item: "i5", timestamp: 2000 }]);
    const again: number[] = [];
    const r2 = await encodeUsers(later, fakeEncoder(again), s, { ...args, since: 1500 });
    expect(r2).toMatchObject({ users: 1, encoded: 1 });
    expect((await s.get("u2"))?.computedAt).toBe(2000);
    const r3 = await encodeUsers(later, fakeEncoder(again), s, args);
    expect(r3).toMatchObject({ encoded: 0, upToDate: 4 });
  });

  it("fills a new version without touching the active one until complete", async () => {
    const old = await store("versions.db", "v0");
    await encodeUsers(ds, fakeEncoder(), old, { ...args, modelVersion: "v0" });
    expect(await old.activeVersion()).toBe("v0");
    const s = await store("versions.db", "v1");
    const seen: (string | undefined)[] = [];
    await encodeUsers(ds, fakeEncoder(), s, {
      ...args,
      batchSize: 1,
      onProgress: () => {
        void old.activeVersion().then((v) => seen.push(v));
      },
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(seen.length).toBe(4);
    expect(seen.every((v) => v === "v0")).toBe(true);
    expect(await s.activeVersion()).toBe("v1");
    expect((await old.get("u1"))?.modelVersion).toBe("v0");
  });

  it("refuses a store handle of another version or width, and an encoder output of the wrong shape", async () => {
    const other = await store("wrong.db", "v9");
    await expect(encodeUsers(ds, fakeEncoder(), other, args)).rejects.toMatchObject({
      code: "CTXREC_ERR_ARTIFACT_VERSION",
    });
    const wide = await store("wide.db", "v1", 4);
    await expect(encodeUsers(ds, fakeEncoder(), wide, args)).rejects.toBeInstanceOf(CtxrecError);
    const s = await store("shape.db");
    const bad: StateEncoder = { encode: async (x) => new Float32Array(x.B * (D + 1)) };
    await expect(encodeUsers(ds, bad, s, args)).rejects.toMatchObject({ code: "CTXREC_ERR_SHAPE" });
    expect(await s.get("u1")).toBeUndefined();
  });
});
