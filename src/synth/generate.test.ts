import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateWorld } from "./generate.ts";
import type { ParamOverrides } from "./params.ts";
import { readWorld } from "./read.ts";
import { worldStats } from "./stats.ts";
import type { OnsiteRequest, WorldEvent, WorldItem, WorldUser } from "./types.ts";

const root = mkdtempSync(path.join(os.tmpdir(), "ctxrec-synth-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let serial = 0;
const fresh = (label: string) => path.join(root, `${label}-${serial++}`);
/** Generates a tiny world into a fresh folder and returns the folder. */
async function tiny(seed: number, overrides: ParamOverrides = {}): Promise<string> {
  const dir = fresh("tiny");
  await generateWorld({ preset: "tiny", seed, outDir: dir, overrides });
  return dir;
}

/** Relative path → sha256 of every file under dir. */
function hashDir(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, file)] = createHash("sha256").update(readFileSync(file)).digest("hex");
  }
  return out;
}

function readJsonl<T>(file: string): T[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as T);
}

describe("generateWorld determinism", () => {
  it("writes byte-identical folders for the same seed and different ones for another seed", async () => {
    const a = fresh("a");
    const b = fresh("b");
    const c = fresh("c");
    await generateWorld({ preset: "tiny", seed: 11, outDir: a });
    await generateWorld({ preset: "tiny", seed: 11, outDir: b });
    await generateWorld({ preset: "tiny", seed: 12, outDir: c });
    const ha = hashDir(a);
    expect(Object.keys(ha).sort()).toEqual([
      "events.jsonl",
      "items.jsonl",
      "requests.jsonl",
      path.join("truth", "categories.jsonl"),
      path.join("truth", "requests.jsonl"),
      path.join("truth", "users.jsonl"),
      "users.jsonl",
      "world.json",
    ]);
    expect(hashDir(b)).toEqual(ha);
    const hc = hashDir(c);
    for (const file of ["events.jsonl", "items.jsonl", "users.jsonl", "requests.jsonl"]) {
      expect(hc[file], file).not.toBe(ha[file]);
    }
  });

  it("keeps events identical when only q or r change (they only touch requests)", async () => {
    const r0 = fresh("r0");
    const r1 = fresh("r1");
    await generateWorld({ preset: "tiny", seed: 5, outDir: r0, overrides: { r: 0, q: 0.2 } });
    await generateWorld({ preset: "tiny", seed: 5, outDir: r1, overrides: { r: 1, q: 0.2 } });
    const h0 = hashDir(r0);
    const h1 = hashDir(r1);
    for (const file of ["events.jsonl", "items.jsonl", "users.jsonl", path.join("truth", "users.jsonl")]) {
      expect(h1[file], file).toBe(h0[file]);
    }
    expect(h1["requests.jsonl"]).not.toBe(h0["requests.jsonl"]);
    // Common random numbers: the intent and subject do not depend on r.
    const q0 = readJsonl<OnsiteRequest>(path.join(r0, "requests.jsonl"));
    const q1 = readJsonl<OnsiteRequest>(path.join(r1, "requests.jsonl"));
    expect(q1.map((r) => r.subjectItem)).toEqual(q0.map((r) => r.subjectItem));
  });
});

describe("a tiny world on disk", async () => {
  const dir = fresh("world");
  const manifest = await generateWorld({ preset: "tiny", seed: 3, outDir: dir });
  const items = readJsonl<WorldItem>(path.join(dir, "items.jsonl"));
  const users = readJsonl<WorldUser>(path.join(dir, "users.jsonl"));
  const events = readJsonl<WorldEvent>(path.join(dir, "events.jsonl"));
  const requests = readJsonl<OnsiteRequest>(path.join(dir, "requests.jsonl"));
  const categoryIds = new Set(
    readJsonl<{ id: string }>(path.join(dir, "truth", "categories.jsonl")).map((c) => c.id),
  );

  it("matches the manifest's counts and records the resolved parameters", () => {
    expect(manifest.counts).toEqual({
      users: users.length,
      items: items.length,
      categories: categoryIds.size,
      events: events.length,
      requests: requests.length,
    });
    expect(manifest.counts).toMatchObject({ users: 300, items: 200, categories: 40, requests: 300 });
    expect(manifest.params).toMatchObject({ q: 0.5, r: 0.5, users: 300 });
    expect(JSON.parse(readFileSync(path.join(dir, "world.json"), "utf8"))).toEqual(manifest);
  });

  it("writes items in the canonical schema: 0–4 known categories, confidences in (0, 1], bids, countries", () => {
    const countries = new Set(["US", "GB", "DE", "FR", "CA", "AU", "BR", "MX"]);
    let withoutCategory = 0;
    for (const it of items) {
      expect(it.id).toMatch(/^i\d+$/);
      expect(it.categories.length).toBeLessThanOrEqual(4);
      if (it.categories.length === 0) withoutCategory++;
      const seen = new Set<string>();
      for (const c of it.categories) {
        expect(categoryIds.has(c.id), c.id).toBe(true);
        expect(seen.has(c.id), `${it.id} repeats ${c.id}`).toBe(false);
        seen.add(c.id);
        expect(c.confidence).toBeGreaterThan(0);
        expect(c.confidence).toBeLessThanOrEqual(1);
      }
      expect(it.advertiser).toMatch(/^a\d+$/);
      expect(it.bid).toBeGreaterThan(0);
      for (const k of it.countries ?? []) expect(countries.has(k), k).toBe(true);
    }
    // itemNoCategoryRate = 0.01 of the 160 items past the 40 anchors: a handful at most.
    expect(withoutCategory).toBeLessThan(10);
    // Every category is carried by some item.
    const used = new Set(items.flatMap((it) => it.categories.map((c) => c.id)));
    expect(used).toEqual(categoryIds);
  });

  it("writes users with optional demographics", () => {
    for (const u of users) {
      expect(u.id).toMatch(/^u\d+$/);
      if (u.age !== undefined) expect(u.age >= 18 && u.age <= 80).toBe(true);
      if (u.gender !== undefined) expect(["female", "male", "other"]).toContain(u.gender);
    }
  });

  it("writes events of known users and items, each user's consecutive and in time order", () => {
    const userIds = new Set(users.map((u) => u.id));
    const itemIds = new Set(items.map((i) => i.id));
    const seenUsers = new Set<string>();
    let prev: WorldEvent | undefined;
    for (const e of events) {
      expect(userIds.has(e.user)).toBe(true);
      expect(itemIds.has(e.item)).toBe(true);
      expect(Number.isInteger(e.timestamp)).toBe(true);
      expect(["page_visit", "add_to_cart", "checkout", "signup"]).toContain(e.type);
      if (prev?.user === e.user) expect(e.timestamp).toBeGreaterThanOrEqual(prev.timestamp);
      else {
        expect(seenUsers.has(e.user), `${e.user} appears in two runs`).toBe(false);
        seenUsers.add(e.user);
      }
      prev = e;
    }
    // minEvents = 3: every user has a history.
    expect(seenUsers.size).toBe(users.length);
  });

  it("holds each request's next conversion out of events.jsonl, after the request, after the last event", () => {
    const lastTime = new Map<string, number>();
    const eventKeys = new Set(events.map((e) => `${e.user} ${e.item} ${e.timestamp}`));
    for (const e of events) lastTime.set(e.user, Math.max(lastTime.get(e.user) ?? 0, e.timestamp));
    const itemIds = new Set(items.map((i) => i.id));
    for (const r of requests) {
      expect(itemIds.has(r.subjectItem)).toBe(true);
      expect(itemIds.has(r.next.item)).toBe(true);
      expect(r.time).toBeGreaterThan(lastTime.get(r.user) ?? Number.POSITIVE_INFINITY);
      expect(r.next.timestamp).toBeGreaterThan(r.time);
      expect(eventKeys.has(`${r.user} ${r.next.item} ${r.next.timestamp}`)).toBe(false);
      expect(r.next.item).not.toBe(r.subjectItem);
    }
  });

  it("reads back through readWorld with truth for every user and request", async () => {
    const world = await readWorld(dir);
    expect(world.manifest).toEqual(manifest);
    expect(world.items).toEqual(items);
    expect(world.requests).toEqual(requests);
    expect(world.categories.size).toBe(40);
    expect(world.userTruth.size).toBe(300);
    for (const t of world.userTruth.values()) {
      const sum = t.interests.reduce((s, i) => s + i.weight, 0);
      expect(sum).toBeCloseTo(1, 9);
      for (const i of t.interests) expect(categoryIds.has(i.category)).toBe(true);
    }
    for (const r of requests) {
      const t = world.requestTruth.get(r.id);
      expect(t).toBeDefined();
      // The subject item is drawn from the intent, so it carries the intent category.
      const subject = world.items.find((it) => it.id === r.subjectItem);
      expect(subject?.categories.map((c) => c.id)).toContain(t?.intent);
      // An intent from the long-term interests is one of them.
      const interests = world.userTruth.get(r.user)?.interests.map((i) => i.category);
      if (t?.intentFromLongTerm) expect(interests).toContain(t.intent);
    }
  });
});

describe("writing is atomic", () => {
  it("refuses an existing folder unless overwrite, and leaves no partial folder behind", async () => {
    const dir = fresh("atomic");
    await generateWorld({ preset: "tiny", seed: 1, outDir: dir });
    await expect(generateWorld({ preset: "tiny", seed: 1, outDir: dir })).rejects.toThrow("parameter out: ");
    await generateWorld({ preset: "tiny", seed: 2, outDir: dir, overwrite: true });
    expect(JSON.parse(readFileSync(path.join(dir, "world.json"), "utf8")).seed).toBe(2);
    expect(readdirSync(root).filter((f) => f.includes(".partial-") || f.includes(".old-"))).toEqual([]);
  });

  it("rejects bad overrides before writing anything", async () => {
    const dir = fresh("bad");
    await expect(
      generateWorld({ preset: "tiny", seed: 1, outDir: dir, overrides: { r: 2 } }),
    ).rejects.toThrow(
      "parameter r: got 2; r (context strength: chance the next conversion comes from the intent) must be a number in [0, 1]",
    );
    await expect(generateWorld({ preset: "tiny", seed: 1.5, outDir: dir })).rejects.toThrow("parameter seed");
    expect(existsSync(dir)).toBe(false);
  });
});

describe("the properties docs/synthetic-world.md claims", () => {
  const seeds = [1, 2, 3];

  it("context strength: with r = 1 the next conversion carries the intent far more often than with r = 0", async () => {
    for (const seed of seeds) {
      const s0 = await worldStats(await tiny(seed, { r: 0 }));
      const s1 = await worldStats(await tiny(seed, { r: 1 }));
      // r = 1: every next conversion comes from the intent (bar a rare eligibility fallback).
      expect(s1.nextHasIntent, `seed ${seed}`).toBeGreaterThan(0.9);
      // r = 0: only by chance, mostly when the intent was one of the interests (q = 0.5).
      expect(s0.nextHasIntent, `seed ${seed}`).toBeLessThan(0.4);
      expect(s1.nextSharesSubjectCategory - s0.nextSharesSubjectCategory).toBeGreaterThan(0.4);
    }
  });

  it("topic persistence and learnability: consecutive events share categories, and the last category beats popularity", async () => {
    for (const seed of seeds) {
      const s = await worldStats(await tiny(seed));
      expect(s.consecutiveSameCategory, `seed ${seed}`).toBeGreaterThan(3 * s.crossUserSameCategory);
      expect(s.nextItemHitRate.lastCategory, `seed ${seed}`).toBeGreaterThan(
        1.5 * s.nextItemHitRate.popularity,
      );
    }
  });

  it("persistence comes from topicStay and familyStay: without them lag 1 looks like lag 5", async () => {
    const on = await worldStats(await tiny(4));
    const off = await worldStats(await tiny(4, { topicStay: 0, familyStay: 0, repeatRate: 0 }));
    // With persistence the next event shares a category far more often than one 5 steps on.
    expect(on.consecutiveSameCategory - on.lag5SameCategory).toBeGreaterThan(0.1);
    // Without it (and without repeats), each topic is a fresh draw from the interests: lag 1 ≈ lag 5.
    expect(Math.abs(off.consecutiveSameCategory - off.lag5SameCategory)).toBeLessThan(0.05);
  });

  it("demographics shift interests: young and old users differ in families, unless demoStrength = 0", async () => {
    const shift = async (demoStrength: number) => {
      const world = await readWorld(await tiny(6, { users: 3000, demoStrength, demoMissingRate: 0 }));
      const family = (c: string) => world.categories.get(c)?.family ?? -1;
      const mass = (pick: (age: number) => boolean) => {
        const m = new Float64Array(8);
        let n = 0;
        for (const u of world.users) {
          if (u.age === undefined || !pick(u.age)) continue;
          n++;
          for (const i of world.userTruth.get(u.id)?.interests ?? []) m[family(i.category)] += i.weight;
        }
        return m.map((x) => x / n);
      };
      const young = mass((a) => a < 28);
      const old = mass((a) => a >= 45);
      // Total variation distance between the two family distributions.
      return 0.5 * young.reduce((s, y, f) => s + Math.abs(y - old[f]), 0);
    };
    const withDemo = await shift(1);
    const without = await shift(0);
    expect(withDemo).toBeGreaterThan(0.15);
    expect(without).toBeLessThan(0.08);
  });
});
