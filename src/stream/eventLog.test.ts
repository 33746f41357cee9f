/**
 * The per-user event log against a real redis-server: appends are idempotent (redelivery, repeated
 * XADDs), keep time order with ties by arrival, keep only the newest `cap` events, and bump the
 * revision only when a new event is kept.
 */
import type { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { type ArrivingEvent, arrivalOf, EventLog, eventOfMember, memberOf, seedArrival } from "./eventLog.ts";
import { connectTestRedis, deletePrefix, freshPrefix, inCi, suiteName } from "./testRedis.ts";

const admin = await connectTestRedis();
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) if (admin !== null) await deletePrefix(admin, p);
  admin?.disconnect();
});

function log(cap: number, ttlSeconds = 0): EventLog {
  const prefix = freshPrefix("evlog");
  prefixes.push(prefix);
  return new EventLog(admin as Redis, { prefix, cap, ttlSeconds });
}
const ev = (item: string, timestamp: number, entryId: string, type?: string): ArrivingEvent => ({
  item,
  type,
  timestamp,
  arrival: arrivalOf(entryId),
});
const items = (l: { events: { item: string }[] }) => l.events.map((e) => e.item);

describe("event log members", () => {
  it("sort by arrival within one time and round-trip the event", () => {
    expect(arrivalOf("1733571234567-3")).toBe("0001733571234567-0000000003");
    expect(seedArrival(7) < arrivalOf("0-0")).toBe(false);
    expect(seedArrival(7) < arrivalOf("1-0")).toBe(true);
    expect(arrivalOf("999-0") < arrivalOf("1000-0")).toBe(true);
    const e = ev('i|x"y', 1.25, "5-1", "click");
    expect(eventOfMember(memberOf(e), 1.25)).toEqual({ item: 'i|x"y', type: "click", timestamp: 1.25 });
  });
});

describe.skipIf(admin === null && !inCi)(suiteName("EventLog on Redis", admin !== null), () => {
  it("keeps events in time order, ties by arrival, and a revision that counts appends", async () => {
    const l = log(10);
    expect(
      await l.append(new Map([["u", [ev("b", 20, "2-0"), ev("a", 10, "3-0"), ev("c", 20, "1-0")]]])),
    ).toEqual([3]);
    const [r] = await l.read(["u"]);
    expect(items(r)).toEqual(["a", "c", "b"]);
    expect(r.revision).toBe(1);
    expect(await l.has(["u", "nobody"])).toEqual([true, false]);
    expect(await l.revisions(["u", "nobody"])).toEqual([1, 0]);
  });

  it("is idempotent: a redelivered entry and a repeated XADD of the same event add nothing", async () => {
    const l = log(10);
    const batch = new Map([["u", [ev("a", 10, "1-0"), ev("b", 11, "2-0", "click")]]]);
    await l.append(batch);
    // The same entries again, and the same events under new entry ids (a producer's retry).
    expect(await l.append(batch)).toEqual([0]);
    expect(await l.append(new Map([["u", [ev("a", 10, "7-0"), ev("b", 11, "8-0", "click")]]]))).toEqual([0]);
    // Same item and time but another type is another event.
    expect(await l.append(new Map([["u", [ev("b", 11, "9-0")]]]))).toEqual([1]);
    const [r] = await l.read(["u"]);
    expect(r.events).toEqual([
      { item: "a", type: undefined, timestamp: 10 },
      { item: "b", type: "click", timestamp: 11 },
      { item: "b", type: undefined, timestamp: 11 },
    ]);
    expect(r.revision).toBe(2);
  });

  it("keeps the newest cap events; a redelivered event trimmed before is trimmed again without a revision", async () => {
    const l = log(3);
    for (let t = 1; t <= 5; t++) await l.append(new Map([["u", [ev(`i${t}`, t, `${t}-0`)]]]));
    let [r] = await l.read(["u"]);
    expect(items(r)).toEqual(["i3", "i4", "i5"]);
    expect(r.revision).toBe(5);
    expect(await l.append(new Map([["u", [ev("i1", 1, "1-0")]]]))).toEqual([0]);
    [r] = await l.read(["u"]);
    expect(items(r)).toEqual(["i3", "i4", "i5"]);
    expect(r.revision).toBe(5);
    // A late event newer than the oldest kept one is kept, in its time's place.
    expect(await l.append(new Map([["u", [ev("late", 3.5, "9-0")]]]))).toEqual([1]);
    [r] = await l.read(["u"]);
    expect(items(r)).toEqual(["late", "i4", "i5"]);
  });

  it("keeps float timestamps bit-exact and sets the TTL when asked", async () => {
    const l = log(5, 120);
    const t = 1_733_571_234.123_456_7;
    await l.append(new Map([["u", [ev("a", t, "1-0")]]]));
    const [r] = await l.read(["u"]);
    expect(r.events[0].timestamp).toBe(t);
    const ttl = await (admin as Redis).ttl(l.logKey("u"));
    expect(ttl).toBeGreaterThan(100);
    expect(await (admin as Redis).ttl(l.revKey("u"))).toBeGreaterThan(100);
  });
});
