/**
 * The Search surface: reproducible for a seed, one search per Related-Items request with the same
 * user, time and next conversion, query categories inside the intent's family and always holding
 * the intent, the lexicon's arithmetic, and worlds without --search unchanged.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateWorld } from "./generate.ts";
import { readWorld } from "./read.ts";
import { buildLexicon, LEXICON_FILE, queryCategories, SEARCH_FILE, SEARCH_TRUTH_FILE } from "./search.ts";
import type { CategoryTruth, QueryToken } from "./types.ts";

const root = mkdtempSync(path.join(os.tmpdir(), "ctxrec-search-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let serial = 0;
async function world(seed: number, search = true): Promise<string> {
  const dir = path.join(root, `w${serial++}`);
  await generateWorld({ preset: "tiny", seed, outDir: dir, search });
  return dir;
}
const hash = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");
const files = [SEARCH_FILE, LEXICON_FILE, SEARCH_TRUTH_FILE];

describe("search surface", () => {
  it("is reproducible for a seed and differs for another", async () => {
    const [a, b, c] = [await world(3), await world(3), await world(4)];
    for (const f of files) expect(hash(path.join(b, f))).toBe(hash(path.join(a, f)));
    expect(hash(path.join(c, SEARCH_FILE))).not.toBe(hash(path.join(a, SEARCH_FILE)));
    // The other files do not depend on --search.
    const plain = await world(3, false);
    for (const f of files) expect(existsSync(path.join(plain, f))).toBe(false);
    for (const f of ["events.jsonl", "requests.jsonl", "world.json"]) {
      expect(hash(path.join(plain, f))).toBe(hash(path.join(a, f)));
    }
    expect((await readWorld(plain)).search).toBeUndefined();
  });

  it("shares user, time and next with its Related-Items request; its categories lie in the intent's family", async () => {
    for (const seed of [1, 2]) {
      const w = await readWorld(await world(seed));
      const search = w.search ?? [];
      const lexicon = w.lexicon as Map<string, QueryToken>;
      expect(search).toHaveLength(w.requests.length);
      let specific = 0;
      search.forEach((s, n) => {
        const r = w.requests[n];
        expect([s.user, s.time, s.next]).toEqual([r.user, r.time, r.next]);
        const truth = w.searchTruth?.get(s.id);
        expect(truth?.request).toBe(r.id);
        const intent = w.requestTruth.get(r.id)?.intent as string;
        expect(truth?.intent).toBe(intent);
        const family = w.categories.get(intent)?.family;
        const cats = queryCategories(s.query, lexicon);
        expect(cats.map((c) => c.id)).toContain(intent);
        for (const c of cats) expect(w.categories.get(c.id)?.family).toBe(family);
        if (truth?.specific) {
          specific++;
          expect(cats[0]).toEqual({ id: intent, confidence: 1 });
        }
      });
      // SPECIFIC_P = 0.7 of 300 requests: 210 expected, sd ≈ 8.
      expect(specific).toBeGreaterThan(170);
      expect(specific).toBeLessThan(250);
    }
  });

  it("maps tokens by the lexicon: one token per category, one per family, max confidence", () => {
    const categories = new Map<string, CategoryTruth>([
      ["c0", { id: "c0", family: 0 }],
      ["c1", { id: "c1", family: 0 }],
      ["c2", { id: "c2", family: 0 }],
      ["c3", { id: "c3", family: 1 }],
    ]);
    const lexicon = new Map(buildLexicon(categories).map((t) => [t.token, t]));
    expect([...lexicon.keys()]).toEqual(["t0", "t1", "t2", "t3", "fam0", "fam1"]);
    // fam0 gives each of its 3 categories 1/3 (rounded 0.333); t1 raises c1 to 1.
    expect(queryCategories(["fam0", "t1"], lexicon)).toEqual([
      { id: "c1", confidence: 1 },
      { id: "c0", confidence: 0.333 },
      { id: "c2", confidence: 0.333 },
    ]);
    expect(() => queryCategories(["nope"], lexicon)).toThrow(/query token 'nope'/);
  });
});
