/**
 * Statistics of a world folder, read back from disk: the figures `ctxrec synth --stats` prints and
 * the properties docs/synthetic-world.md claims (topic persistence, context signal, learnability).
 * Events are streamed twice; memory holds per-item counts and one user's events.
 */
import { readWorld, readWorldEvents } from "./read.ts";
import type { World } from "./types.ts";

export interface WorldStats {
  users: number;
  items: number;
  events: number;
  requests: number;
  itemsWithoutCategory: number;
  /** Events per user. */
  eventsPerUser: { mean: number; median: number; p90: number };
  /** Share of consecutive events of a user whose items share a category. */
  consecutiveSameCategory: number;
  /** The same share for events five apart in a user's sequence: what the interests alone explain. */
  lag5SameCategory: number;
  /** The same share for events at the same position of two different (adjacent) users: chance level. */
  crossUserSameCategory: number;
  /** Share of requests whose next conversion carries the request's intent category. */
  nextHasIntent: number;
  /** Share of requests whose next conversion shares a category with the subject item. */
  nextSharesSubjectCategory: number;
  /**
   * Next-item prediction, last event of each user held out, the rest as training counts.
   * `popularity`: hit rate@K of the K most frequent items. `lastCategory`: of the K most frequent
   * items sharing a category with the user's second-to-last item (filled up by popularity) — the
   * simplest sequential model; it beating popularity shows the sequences carry signal.
   */
  nextItemHitRate: { k: number; popularity: number; lastCategory: number };
}

function quantile(sorted: Int32Array, q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Item id → category ids. */
function categoryIndex(world: World): Map<string, string[]> {
  return new Map(world.items.map((it) => [it.id, it.categories.map((c) => c.id)]));
}

const shares = (a: string[] | undefined, b: string[] | undefined): boolean =>
  a !== undefined && b !== undefined && a.some((c) => b.includes(c));

/** Groups the event stream into users (events of a user are consecutive in events.jsonl). */
async function* byUser(dir: string): AsyncGenerator<{ user: string; items: string[] }> {
  let user: string | null = null;
  let items: string[] = [];
  for await (const e of readWorldEvents(dir)) {
    if (e.user !== user) {
      if (user !== null) yield { user, items };
      user = e.user;
      items = [];
    }
    items.push(e.item);
  }
  if (user !== null) yield { user, items };
}

/** Computes WorldStats for the world folder `dir` (hit rates at `k`, default 10). */
export async function worldStats(dir: string, k = 10): Promise<WorldStats> {
  const world = await readWorld(dir);
  const cats = categoryIndex(world);

  // Pass 1: sequence shape, persistence, and training counts (all but each user's last event).
  const lengths: number[] = [];
  const counts = new Map<string, number>();
  let pairs = 0;
  let samePairs = 0;
  let lagPairs = 0;
  let lagSame = 0;
  let crossPairs = 0;
  let crossSame = 0;
  let prev: string[] = [];
  let events = 0;
  for await (const { items } of byUser(dir)) {
    lengths.push(items.length);
    events += items.length;
    for (let j = 0; j < items.length; j++) {
      if (j > 0) {
        pairs++;
        if (shares(cats.get(items[j - 1]), cats.get(items[j]))) samePairs++;
      }
      if (j >= 5) {
        lagPairs++;
        if (shares(cats.get(items[j - 5]), cats.get(items[j]))) lagSame++;
      }
      if (j < prev.length) {
        crossPairs++;
        if (shares(cats.get(prev[j]), cats.get(items[j]))) crossSame++;
      }
      if (j < items.length - 1) counts.set(items[j], (counts.get(items[j]) ?? 0) + 1);
    }
    prev = items;
  }

  // Top-K lists: overall, and per category (items ranked by training count).
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map((e) => e[0]);
  const popular = ranked.slice(0, k);
  const topByCategory = new Map<string, string[]>();
  for (const item of ranked) {
    for (const c of cats.get(item) ?? []) {
      const list = topByCategory.get(c) ?? [];
      if (list.length < k) list.push(item);
      topByCategory.set(c, list);
    }
  }

  // Pass 2: hit rates on each user's last event.
  let tested = 0;
  let popHits = 0;
  let catHits = 0;
  for await (const { items } of byUser(dir)) {
    if (items.length < 2) continue;
    tested++;
    const target = items[items.length - 1];
    if (popular.includes(target)) popHits++;
    const scored = new Map<string, number>();
    for (const c of cats.get(items[items.length - 2]) ?? []) {
      for (const item of topByCategory.get(c) ?? []) scored.set(item, counts.get(item) ?? 0);
    }
    const guess = [...scored.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .map((e) => e[0])
      .slice(0, k);
    for (const item of popular) if (guess.length < k && !guess.includes(item)) guess.push(item);
    if (guess.includes(target)) catHits++;
  }

  let hasIntent = 0;
  let sharesSubject = 0;
  for (const req of world.requests) {
    const nextCats = cats.get(req.next.item);
    const intent = world.requestTruth.get(req.id)?.intent;
    if (intent !== undefined && nextCats?.includes(intent)) hasIntent++;
    if (shares(cats.get(req.subjectItem), nextCats)) sharesSubject++;
  }

  const sorted = Int32Array.from(lengths).sort();
  const nReq = Math.max(1, world.requests.length);
  return {
    users: world.users.length,
    items: world.items.length,
    events,
    requests: world.requests.length,
    itemsWithoutCategory: world.items.filter((it) => it.categories.length === 0).length,
    eventsPerUser: {
      mean: events / Math.max(1, lengths.length),
      median: quantile(sorted, 0.5),
      p90: quantile(sorted, 0.9),
    },
    consecutiveSameCategory: samePairs / Math.max(1, pairs),
    lag5SameCategory: lagSame / Math.max(1, lagPairs),
    crossUserSameCategory: crossSame / Math.max(1, crossPairs),
    nextHasIntent: hasIntent / nReq,
    nextSharesSubjectCategory: sharesSubject / nReq,
    nextItemHitRate: {
      k,
      popularity: popHits / Math.max(1, tested),
      lastCategory: catHits / Math.max(1, tested),
    },
  };
}
