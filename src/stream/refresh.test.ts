/**
 * `refreshUsers` against a real redis-server (the event log) and a real SQLite store, with a
 * plain-TypeScript stand-in encoder: the write-then-check guard that keeps a slower consumer's
 * older state from being the last word, seeding, and what is counted.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import type { StateEncoder } from "../offline/encodeUsers.ts";
import type { EncoderInput } from "../onnx/runtime.ts";
import type { FeatureStore } from "../store/featureStore.ts";
import { openFeatureStore } from "../store/open.ts";
import type { StreamEvent } from "./entry.ts";
import { EventLog } from "./eventLog.ts";
import { codeMaps } from "./history.ts";
import { groupByUser, refreshUsers } from "./refresh.ts";
import { connectTestRedis, deletePrefix, freshPrefix, inCi, suiteName } from "./testRedis.ts";

const admin = await connectTestRedis();
const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-refresh-"));
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) if (admin !== null) await deletePrefix(admin, p);
  admin?.disconnect();
  rmSync(tmp, { recursive: true, force: true });
});

const maps = codeMaps({ items: ["<pad>", "a", "b", "c"], types: ["<pad>", "<missing>"] });
/** `[B, 2]`: (Σ item codes, events) over each row: a state that shows which events it saw. */
const sumEncoder: StateEncoder = {
  async encode(x: EncoderInput) {
    const out = new Float32Array(x.B * 2);
    for (let b = 0; b < x.B; b++) {
      for (let t = 0; t < x.lengths[b]; t++) out[2 * b] += x.items[b * x.len + t];
      out[2 * b + 1] = x.lengths[b];
    }
    return out;
  },
};
const event = (user: string, item: string, timestamp: number, entryId: string): StreamEvent => ({
  entryId,
  user,
  item,
  type: undefined,
  timestamp,
  enqueuedMs: Number(entryId.split("-")[0]),
});

let n = 0;
async function setUp(): Promise<{ log: EventLog; store: FeatureStore }> {
  const prefix = freshPrefix("refresh");
  prefixes.push(prefix);
  const store = await openFeatureStore(`file:${path.join(tmp, `s${n++}.db`)}`, {
    modelVersion: "v1",
    dim: 2,
    mode: "write",
  });
  return { log: new EventLog(admin as Redis, { prefix, cap: 4 }), store };
}

describe("groupByUser", () => {
  it("groups by user in entry order with fixed-width arrival keys", () => {
    const g = groupByUser([event("u", "a", 1, "5-0"), event("v", "b", 2, "6-0"), event("u", "c", 3, "7-1")]);
    expect([...g.keys()]).toEqual(["u", "v"]);
    expect(g.get("u")?.map((e) => [e.item, e.arrival])).toEqual([
      ["a", "0000000000000005-0000000000"],
      ["c", "0000000000000007-0000000001"],
    ]);
  });
});

describe.skipIf(admin === null && !inCi)(suiteName("refreshUsers on Redis", admin !== null), () => {
  it("writes the state of the whole log with the newest event time; redelivery counts as duplicates", async () => {
    const { log, store } = await setUp();
    const deps = { log, encoder: sumEncoder, store, maps, maxLen: 3 };
    const r = await refreshUsers([event("u", "a", 10, "1-0"), event("u", "b", 20, "2-0")], deps);
    expect(r).toMatchObject({ newEvents: 2, duplicates: 0, encoded: 1, rewrites: 0, unsettled: 0 });
    // a (1) + b (2) = 3 over 2 events.
    expect(await store.get("u")).toMatchObject({ vector: Float32Array.of(3, 2), computedAt: 20 });
    const again = await refreshUsers([event("u", "b", 20, "2-0")], deps);
    expect(again).toMatchObject({ newEvents: 0, duplicates: 1, encoded: 1 });
    expect((await store.get("u"))?.vector).toEqual(Float32Array.of(3, 2));
    await store.close();
  });

  it("a consumer whose older state lands after a newer one rewrites it: the store ends with every event", async () => {
    const { log, store } = await setUp();
    // Slow: its first encoder call (its log read: event a, revision 1) waits until fast has
    // appended b and written a + b; so slow's older state lands last.
    let readDone = () => {};
    const slowRead = new Promise<void>((r) => {
      readDone = r;
    });
    let open = () => {};
    const gate = new Promise<void>((r) => {
      open = r;
    });
    let calls = 0;
    const slowEncoder: StateEncoder = {
      async encode(x) {
        if (calls++ === 0) {
          readDone();
          await gate;
        }
        return sumEncoder.encode(x);
      },
    };
    const slow = refreshUsers([event("u", "a", 10, "1-0")], {
      log,
      encoder: slowEncoder,
      store,
      maps,
      maxLen: 3,
    });
    await slowRead;
    const fast = await refreshUsers([event("u", "b", 20, "2-0")], {
      log,
      encoder: sumEncoder,
      store,
      maps,
      maxLen: 3,
    });
    expect(fast).toMatchObject({ newEvents: 1, rewrites: 0 });
    expect((await store.get("u"))?.vector).toEqual(Float32Array.of(3, 2));
    open();
    const r = await slow;
    // Slow's first write (a only: 1, 1) landed last; its check saw revision 2 and wrote a + b again.
    expect(r).toMatchObject({ newEvents: 1, encoded: 2, rewrites: 1, unsettled: 0 });
    expect(await store.get("u")).toMatchObject({ vector: Float32Array.of(3, 2), computedAt: 20 });
    await store.close();
  });

  it("seeds a first-seen user's log once, before its streamed events", async () => {
    const { log, store } = await setUp();
    const seeder = {
      knownUser: () => true,
      seed: (user: string) =>
        user === "u"
          ? [{ item: "c", type: undefined, timestamp: 5, arrival: "0000000000000000-0000000000" }]
          : [],
    };
    const deps = { log, encoder: sumEncoder, store, maps, maxLen: 3, seeder };
    const r = await refreshUsers([event("u", "a", 10, "1-0"), event("w", "b", 1, "1-1")], deps);
    expect(r).toMatchObject({ seeded: 1, newEvents: 2, encoded: 2 });
    // c (3) + a (1) over 2 events; w has only b.
    expect((await store.get("u"))?.vector).toEqual(Float32Array.of(4, 2));
    expect((await store.get("w"))?.vector).toEqual(Float32Array.of(2, 1));
    expect((await refreshUsers([event("u", "b", 11, "2-0")], deps)).seeded).toBe(0);
    expect((await store.get("u"))?.vector).toEqual(Float32Array.of(6, 3));
    await store.close();
  });
});
