/**
 * The feature store on Redis Cluster (ioredis `Cluster`). Same contract as the SQLite and Redis
 * stores. Key layout (PREFIX is `ctxrec:fs` by default, and may not contain braces):
 *
 *   {PREFIX}:versions             HASH   model version → {"dim","createdAt"}   ┐ one hash tag:
 *   {PREFIX}:active               STRING the active model version              │ one slot, so
 *   {PREFIX}:seq:VERSION          STRING batch counter of the version          │ each is read or
 *   {PREFIX}:commits:VERSION      STRING committed batch ids, as ranges "1-7,9-12" ┘ changed atomically
 *   PREFIX:v:VERSION:u:USER       HASH   batch id → one `record.ts` record; "floor" = highest pruned id
 *
 * User keys carry no common hash tag, so one version's states spread over all 16384 slots (and
 * so over all masters). A batch cannot be one MULTI across slots, so `putMany` is made atomic by
 * multi-version records instead: it takes a batch id (INCR seq), writes each user's record under
 * that id (HSET, one command per key, all sent at once), and only when every write is
 * acknowledged commits the id (one Lua script on the commits key). A reader first reads the
 * commits (its snapshot), then each user's hash, and takes the newest record whose id is in the
 * snapshot: a batch is visible to it entirely or not at all, and a writer killed mid-batch leaves
 * nothing visible. After its commit a writer prunes each written user's older records; a reader
 * that finds a user with only records newer than its snapshot and a "floor" (something was
 * pruned after it took its snapshot) retries with a fresh snapshot.
 *
 * Versions: each version has its own keys, so writing a new version never touches the active
 * one; `activate()` is one SET of `{PREFIX}:active`, and a handle reads only its own version, so
 * a read returns a vector entirely of one version. Old versions stay until their keys are deleted.
 */
import { Cluster } from "ioredis";
import { CtxrecError } from "../core/errors.ts";
import {
  checkEntry,
  checkUser,
  checkUsers,
  checkWritable,
  type FeatureStore,
  type OpenStoreArgs,
  type StateEntry,
  type StoreCounters,
  type VersionInfo,
} from "./featureStore.ts";
import { decodeHeader, encodeRecord } from "./record.ts";
import {
  checkPrefix,
  connectClient,
  DEFAULT_PREFIX,
  listNamespaces,
  type MetaKeys,
  openNamespace,
  RedisBackedStore,
  type RedisStoreOptions,
} from "./redisCommon.ts";
import { describeStoreUrl, type RedisClusterStoreUrl } from "./url.ts";

/** The key names of one store (see the module comment). */
export function clusterKeys(prefix: string) {
  return {
    versions: `{${prefix}}:versions`,
    active: `{${prefix}}:active`,
    seq: (version: string) => `{${prefix}}:seq:${version}`,
    commits: (version: string) => `{${prefix}}:commits:${version}`,
    user: (version: string, user: string) => `${prefix}:v:${version}:u:${user}`,
  };
}
type ClusterKeys = ReturnType<typeof clusterKeys>;

/** Adds batch id ARGV[1] to the sorted, merged ranges "a-b,c-d" at KEYS[1]. */
const COMMIT_LUA = `
local s = tonumber(ARGV[1])
local r = {{s, s}}
local cur = redis.call('GET', KEYS[1])
if cur then for a, b in string.gmatch(cur, '(%d+)-(%d+)') do r[#r + 1] = {tonumber(a), tonumber(b)} end end
table.sort(r, function(x, y) return x[1] < y[1] end)
local out, lo, hi = {}, r[1][1], r[1][2]
for i = 2, #r do
  if r[i][1] <= hi + 1 then if r[i][2] > hi then hi = r[i][2] end
  else out[#out + 1] = string.format('%d-%d', lo, hi); lo, hi = r[i][1], r[i][2] end
end
out[#out + 1] = string.format('%d-%d', lo, hi)
redis.call('SET', KEYS[1], table.concat(out, ','))
return #out`;

/** Deletes the records of batch ids below ARGV[1] from user hash KEYS[1]; remembers the highest as "floor". */
const PRUNE_LUA = `
local s = tonumber(ARGV[1])
local floor = tonumber(redis.call('HGET', KEYS[1], 'floor') or '0')
local pruned = floor
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if f ~= 'floor' then
    local n = tonumber(f)
    if n < s then redis.call('HDEL', KEYS[1], f); if n > pruned then pruned = n end end
  end
end
if pruned > floor then redis.call('HSET', KEYS[1], 'floor', string.format('%d', pruned)) end
return pruned`;

/** How often a read retries after a concurrent prune before giving up with a retryable error. */
const READ_ATTEMPTS = 8;

/** Committed batch ids as sorted disjoint ranges. */
type Snapshot = [number, number][];

function parseCommits(text: string | null): Snapshot {
  if (text === null || text === "") return [];
  return text.split(",").map((r) => r.split("-").map(Number) as [number, number]);
}

function committed(snap: Snapshot, id: number): boolean {
  for (const [a, b] of snap) if (id >= a && id <= b) return true;
  return false;
}

/** Connects to the cluster and opens the namespace of `args.modelVersion`. */
export function openClusterStore(
  url: RedisClusterStoreUrl,
  args: OpenStoreArgs,
  options: RedisStoreOptions = {},
): Promise<FeatureStore> {
  const prefix = checkPrefix(options.keyPrefix ?? DEFAULT_PREFIX, true);
  const where = describeStoreUrl(url);
  const keys = clusterKeys(prefix);
  return openNamespace(
    {
      where,
      label: "Redis Cluster",
      keys,
      connect: () => connect(url, where, options.connectTimeoutMs ?? 2000),
      make: (c, a) => new ClusterFeatureStore(c, where, keys, a.modelVersion, a.dim, a.mode, a.counters),
    },
    args,
  );
}

/** Every namespace in the cluster store at `url`. */
export function listClusterVersions(
  url: RedisClusterStoreUrl,
  options: RedisStoreOptions = {},
): Promise<VersionInfo[]> {
  const where = describeStoreUrl(url);
  return listNamespaces({
    where,
    label: "Redis Cluster",
    keys: clusterKeys(checkPrefix(options.keyPrefix ?? DEFAULT_PREFIX, true)) as MetaKeys,
    connect: () => connect(url, where, options.connectTimeoutMs ?? 2000),
  });
}

function connect(url: RedisClusterStoreUrl, where: string, timeoutMs: number): Promise<Cluster> {
  let ready = false;
  const cluster = new Cluster(url.nodes, {
    lazyConnect: true,
    // No auto-pipelining: after a node was down for a few seconds, ioredis 5's auto-pipelines kept
    // routing its slots to the wrong node and every read failed with MOVED until the process
    // restarted (redis/ioredis#2075; reproduced by the 3 s restart in cluster.test.ts). Measured on
    // a loopback 3-master cluster at load 0: a one-user read is 0.22 ms p50 without against 0.28
    // with; a 256-user getMany is 4.2 ms p50 without against 2.0 with, the price of recovering.
    // Before the first connection: give up at once (a clear error, no hang). After it: keep
    // reconnecting in the background, so a restarted node is picked up again.
    clusterRetryStrategy: (times) => (ready ? Math.min(times * 200, 2000) : null),
    retryDelayOnClusterDown: 200,
    retryDelayOnFailover: 200,
    maxRedirections: 8,
    slotsRefreshTimeout: timeoutMs,
    redisOptions: {
      username: url.username,
      password: url.password,
      connectTimeout: timeoutMs,
      maxRetriesPerRequest: 1,
    },
  });
  cluster.once("ready", () => {
    ready = true;
  });
  const first = url.nodes[0];
  return connectClient(
    cluster,
    `cannot reach the Redis Cluster at ${where}; start its nodes (redis-server --cluster-enabled yes, then redis-cli --cluster create …, see docs/scale.md) or fix the URL (first node ${first.host}:${first.port})`,
  );
}

/** Writes encoded records as one batch and commits it; returns the batch id. Also used by tests to plant raw records. */
export async function writeClusterBatch(
  cluster: Cluster,
  keys: ClusterKeys,
  version: string,
  users: readonly string[],
  records: readonly Buffer[],
): Promise<number> {
  const id = await cluster.incr(keys.seq(version));
  // Each HSET touches one key (any slot); all are sent before any reply is awaited.
  await Promise.all(users.map((u, i) => cluster.hset(keys.user(version, u), String(id), records[i])));
  await cluster.eval(COMMIT_LUA, 1, keys.commits(version), String(id));
  return id;
}

class ClusterFeatureStore extends RedisBackedStore<Cluster> {
  constructor(
    cluster: Cluster,
    where: string,
    private readonly ck: ClusterKeys,
    modelVersion: string,
    dim: number,
    mode: "read" | "write",
    counters: StoreCounters,
  ) {
    super(cluster, where, "Redis Cluster", ck, modelVersion, dim, mode, counters);
  }

  /**
   * The newest committed record of each user as of one snapshot (null: none), retrying when a
   * concurrent prune removed what the snapshot needed.
   */
  private async readRecords(users: readonly string[]): Promise<(Buffer | null)[]> {
    const unique = [...new Set(users)];
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const snap = parseCommits(await this.client.get(this.ck.commits(this.modelVersion)));
      const hashes = await Promise.all(
        unique.map((u) => this.client.hgetallBuffer(this.ck.user(this.modelVersion, u))),
      );
      let stale = false;
      const byUser = new Map<string, Buffer | null>();
      for (const [i, h] of hashes.entries()) {
        let best = -1;
        for (const f of Object.keys(h)) {
          const id = Number(f);
          if (f !== "floor" && id > best && committed(snap, id)) best = id;
        }
        if (best < 0 && h.floor !== undefined) stale = true;
        byUser.set(unique[i], best < 0 ? null : h[String(best)]);
      }
      if (!stale) return users.map((u) => byUser.get(u) ?? null);
    }
    throw new CtxrecError(
      "CTXREC_ERR_STORE",
      `${this.where}: the users were rewritten ${READ_ATTEMPTS} times while being read; retry the request`,
      { param: "store URL" },
    );
  }

  get(user: string): Promise<StateEntry | undefined> {
    return this.guard(async () => {
      checkUser(user, "user");
      const [r] = await this.readRecords([user]);
      return this.decode(user, r);
    }, "get");
  }

  getMany(users: readonly string[]): Promise<(StateEntry | undefined)[]> {
    return this.guard(async () => {
      checkUsers(users);
      if (users.length === 0) return [];
      const records = await this.readRecords(users);
      return records.map((r, i) => this.decode(users[i], r));
    }, "getMany");
  }

  putMany(entries: readonly StateEntry[]): Promise<void> {
    return this.guard(async () => {
      checkWritable(this, "putMany");
      // Validate and encode everything first: a bad entry sends nothing to the server.
      const latest = new Map<string, Buffer>();
      for (const [i, e] of entries.entries()) {
        checkEntry(e, this.modelVersion, this.dim, `entries[${i}]`);
        latest.set(e.user, encodeRecord(e)); // a repeated user: the later entry wins
      }
      if (latest.size === 0) return;
      const users = [...latest.keys()];
      const id = await writeClusterBatch(this.client, this.ck, this.modelVersion, users, [
        ...latest.values(),
      ]);
      await Promise.all(
        users.map((u) => this.client.eval(PRUNE_LUA, 1, this.ck.user(this.modelVersion, u), String(id))),
      );
    }, "putMany");
  }

  computedAtMany(users: readonly string[]): Promise<(number | undefined)[]> {
    return this.guard(async () => {
      checkUsers(users);
      if (users.length === 0) return [];
      const records = await this.readRecords(users);
      return records.map((b, i) =>
        b === null ? undefined : decodeHeader(b, this.ctx(users[i]), false).computedAt,
      );
    }, "computedAtMany");
  }
}
