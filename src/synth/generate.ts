/**
 * `generateWorld`: writes a synthetic Related-Items world folder (layout in `types.ts`, model in
 * `docs/synthetic-world.md`). Users are generated and written one at a time, so memory holds the
 * catalogue and one user, never the events: the `large` preset streams ≈20M events to disk.
 *
 * Random streams (all from the world seed): `categories`, `families`, `advertisers`, `items`
 * build the catalogue; `users` runs sequentially through every user's demographics, interests and
 * events; `request:<u>` is user u's own stream for its onsite request. Events therefore do not
 * depend on q, r or requestRate, and a sweep over r changes requests only.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { requireArg } from "../core/errors.ts";
import { drawRequest, drawSequence, EVENT_TYPES } from "./behaviour.ts";
import { buildCatalog, itemLine } from "./catalog.ts";
import { type ParamOverrides, resolveParams } from "./params.ts";
import { childRng } from "./sampling.ts";
import { writeSearchSurface } from "./search.ts";
import type { WorldManifest } from "./types.ts";
import { drawUser, userLine, userTruthLine } from "./users.ts";
import { JsonlWriter, writeAtomically } from "./writer.ts";

/** Arguments of `generateWorld`. */
export interface GenerateWorldArgs {
  /** Preset: `tiny` (tests), `small` (default sizes), `large` (≈20M events). */
  preset: string;
  /** World seed (integer). Same seed and parameters ⇒ byte-identical folder. */
  seed: number;
  /** Parameters to change from the preset (see PARAM_SPECS); validated. */
  overrides?: ParamOverrides;
  /** Folder to create. */
  outDir: string;
  /** Replace an existing `outDir` (default false: refuse). */
  overwrite?: boolean;
  /**
   * Also write the Search surface (search.jsonl, search-lexicon.jsonl, truth/search.jsonl; see
   * search.ts). Default false: the other files are the same either way.
   */
  search?: boolean;
  /** Called every PROGRESS_EVERY users and at the end with (users done, users in all). */
  onProgress?: (done: number, total: number) => void;
}

const PROGRESS_EVERY = 1000;

/** Generates the world into `outDir` and returns its manifest (also written as world.json). */
export async function generateWorld(args: GenerateWorldArgs): Promise<WorldManifest> {
  requireArg(Number.isInteger(args.seed), "seed", `seed must be an integer, got ${args.seed}`);
  requireArg(
    typeof args.outDir === "string" && args.outDir.length > 0,
    "outDir",
    "outDir must name a folder",
  );
  const p = resolveParams(args.preset, args.overrides ?? {});
  const seed = args.seed;

  return writeAtomically(args.outDir, args.overwrite ?? false, async (dir) => {
    const cat = buildCatalog(p, seed);
    const truthDir = path.join(dir, "truth");
    await mkdir(truthDir);

    const items = await JsonlWriter.open(path.join(dir, "items.jsonl"));
    for (let i = 0; i < p.items; i++) {
      items.line(itemLine(cat, i));
      await items.maybeFlush();
    }
    await items.close();
    const categories = await JsonlWriter.open(path.join(truthDir, "categories.jsonl"));
    for (let c = 0; c < p.categories; c++)
      categories.line(JSON.stringify({ id: `c${c}`, family: cat.categoryFamily[c] }));
    await categories.close();

    const users = await JsonlWriter.open(path.join(dir, "users.jsonl"));
    const events = await JsonlWriter.open(path.join(dir, "events.jsonl"));
    const requests = await JsonlWriter.open(path.join(dir, "requests.jsonl"));
    const userTruth = await JsonlWriter.open(path.join(truthDir, "users.jsonl"));
    const requestTruth = await JsonlWriter.open(path.join(truthDir, "requests.jsonl"));
    const all = [users, events, requests, userTruth, requestTruth];

    const rng = childRng(seed, "users");
    for (let u = 0; u < p.users; u++) {
      const user = drawUser(cat, p, u, rng);
      users.line(userLine(user, p, rng));
      const seq = drawSequence(cat, p, user, rng);
      const uid = `u${u}`;
      for (let k = 0; k < seq.items.length; k++) {
        events.line(
          `{"user":"${uid}","item":"i${seq.items[k]}","timestamp":${seq.times[k]},"type":"${EVENT_TYPES[seq.types[k]]}"}`,
        );
      }
      userTruth.line(userTruthLine(user));
      const req = drawRequest(cat, p, user, seq.times[seq.times.length - 1], childRng(seed, `request:${u}`));
      if (req !== null) {
        const id = `r${requests.lines}`;
        requests.line(
          JSON.stringify({
            id,
            user: uid,
            subjectItem: `i${req.subject}`,
            time: req.time,
            next: { item: `i${req.nextItem}`, timestamp: req.nextTime },
          }),
        );
        requestTruth.line(
          JSON.stringify({
            id,
            intent: `c${req.intent}`,
            intentFromLongTerm: req.intentFromLongTerm,
            nextFromIntent: req.nextFromIntent,
          }),
        );
      }
      for (const w of all) await w.maybeFlush();
      if ((u + 1) % PROGRESS_EVERY === 0) args.onProgress?.(u + 1, p.users);
    }
    for (const w of all) await w.close();
    args.onProgress?.(p.users, p.users);

    const manifest: WorldManifest = {
      formatVersion: 1,
      preset: args.preset,
      seed,
      params: { ...p },
      counts: {
        users: p.users,
        items: p.items,
        categories: p.categories,
        events: events.lines,
        requests: requests.lines,
      },
    };
    const manifestWriter = await JsonlWriter.open(path.join(dir, "world.json"));
    manifestWriter.line(JSON.stringify(manifest, null, 2));
    await manifestWriter.close();
    if (args.search === true) await writeSearchSurface(dir, seed);
    return manifest;
  });
}
