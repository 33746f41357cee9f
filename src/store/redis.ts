/**
 * The scale-out feature store on Redis (ioredis). Same contract as the SQLite store:
 *
 *   PREFIX:versions               HASH  model version → {"dim","createdAt"} (the namespaces)
 *   PREFIX:active                 STRING the active model version
 *   PREFIX:v:VERSION:u:USER       STRING one `record.ts` record (binary: header + float32 × d)
 *
 * PREFIX is `ctxrec:fs` by default. Versions are restricted to `[A-Za-z0-9._-]`, so one
 * version's key space can never overlap another's. `putMany` validates everything, then sends all
 * SETs in one MULTI/EXEC: Redis applies the block atomically and in isolation, so a reader sees
 * the whole batch or none of it. `getMany` is one MGET (a single atomic read).
 */
import { Redis } from "ioredis";
import {
  checkEntry,
  checkUser,
  checkUsers,
  checkWritable,
  type FeatureStore,
  type OpenStoreArgs,
  type StateEntry,
  type VersionInfo,
} from "./featureStore.ts";
import { decodeHeader, encodeRecord, MAX_HEADER } from "./record.ts";
import {
  checkPrefix,
  connectClient,
  DEFAULT_PREFIX,
  listNamespaces,
  type MetaKeys,
  openNamespace,
  RedisBackedStore,
  type RedisStoreOptions,
  redisAddress,
} from "./redisCommon.ts";
import { describeStoreUrl, type RedisStoreUrl } from "./url.ts";

export type { RedisStoreOptions } from "./redisCommon.ts";

const metaKeys = (prefix: string): MetaKeys => ({
  versions: `${prefix}:versions`,
  active: `${prefix}:active`,
});

/** Connects to Redis and opens the namespace of `args.modelVersion`. */
export function openRedisStore(
  url: RedisStoreUrl,
  args: OpenStoreArgs,
  options: RedisStoreOptions = {},
): Promise<FeatureStore> {
  const prefix = checkPrefix(options.keyPrefix ?? DEFAULT_PREFIX, false);
  const where = describeStoreUrl(url);
  const keys = metaKeys(prefix);
  return openNamespace(
    {
      where,
      label: "Redis",
      keys,
      connect: () => connectRedis(url, where, options.connectTimeoutMs ?? 2000),
      make: (redis, a) =>
        new RedisFeatureStore(redis, where, keys, prefix, a.modelVersion, a.dim, a.mode, a.counters),
    },
    args,
  );
}

/** Every namespace in the Redis store at `url`. */
export function listRedisVersions(
  url: RedisStoreUrl,
  options: RedisStoreOptions = {},
): Promise<VersionInfo[]> {
  const where = describeStoreUrl(url);
  return listNamespaces({
    where,
    label: "Redis",
    keys: metaKeys(options.keyPrefix ?? DEFAULT_PREFIX),
    connect: () => connectRedis(url, where, options.connectTimeoutMs ?? 2000),
  });
}

/**
 * A client connected to `url` (CTXREC_ERR_STORE naming `where` and how to start a server when it
 * cannot be reached within `timeoutMs`) that keeps reconnecting in the background once connected.
 * Also the connection of `ctxrec stream` to its events server.
 */
export function connectRedis(url: RedisStoreUrl, where: string, timeoutMs: number): Promise<Redis> {
  const redis = new Redis({
    ...redisAddress(url),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    // Once connected, a command fails after one reconnection attempt instead of hanging;
    // reconnection itself keeps going in the background (a restarted Redis is picked up again).
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  return connectClient(
    redis,
    `cannot reach Redis at ${where}; start redis-server (e.g. \`redis-server --port ${url.port} --bind 127.0.0.1 --daemonize yes\`) or fix the URL`,
  );
}

class RedisFeatureStore extends RedisBackedStore<Redis> {
  private readonly userPrefix: string;

  constructor(
    redis: Redis,
    where: string,
    keys: MetaKeys,
    prefix: string,
    modelVersion: string,
    dim: number,
    mode: "read" | "write",
    counters: FeatureStore["counters"],
  ) {
    super(redis, where, "Redis", keys, modelVersion, dim, mode, counters);
    this.userPrefix = `${prefix}:v:${modelVersion}:u:`;
  }

  private key(user: string): string {
    return this.userPrefix + user;
  }

  get(user: string): Promise<StateEntry | undefined> {
    return this.guard(async () => {
      checkUser(user, "user");
      return this.decode(user, await this.client.getBuffer(this.key(user)));
    }, "get");
  }

  getMany(users: readonly string[]): Promise<(StateEntry | undefined)[]> {
    return this.guard(async () => {
      checkUsers(users);
      if (users.length === 0) return [];
      const records = await this.client.mgetBuffer(users.map((u) => this.key(u)));
      return records.map((r, i) => this.decode(users[i], r));
    }, "getMany");
  }

  putMany(entries: readonly StateEntry[]): Promise<void> {
    return this.guard(async () => {
      checkWritable(this, "putMany");
      // Validate and encode everything first: a bad entry sends nothing to the server.
      const records = entries.map((e, i) => {
        checkEntry(e, this.modelVersion, this.dim, `entries[${i}]`);
        return encodeRecord(e);
      });
      if (records.length === 0) return;
      const multi = this.client.multi();
      for (let i = 0; i < entries.length; i++) multi.set(this.key(entries[i].user), records[i]);
      const results = await multi.exec();
      // exec() is null when the transaction was discarded; a per-command error cannot come from
      // SET with valid arguments, but if one does the batch is reported as failed.
      if (results === null) throw new Error("MULTI/EXEC was discarded");
      const failed = results.find(([err]) => err !== null);
      if (failed) throw failed[0];
    }, "putMany");
  }

  computedAtMany(users: readonly string[]): Promise<(number | undefined)[]> {
    return this.guard(async () => {
      checkUsers(users);
      if (users.length === 0) return [];
      // Fetch only up to the longest possible header (GETRANGE returns "" for a missing key), so
      // that a record of another, longer version id is still recognised as such.
      const end = MAX_HEADER - 1;
      const pipe = this.client.pipeline();
      for (const u of users) pipe.getrangeBuffer(this.key(u), 0, end);
      const results = (await pipe.exec()) ?? [];
      return results.map(([err, buf], i) => {
        if (err) throw err;
        const b = buf as Buffer;
        return b.length === 0 ? undefined : decodeHeader(b, this.ctx(users[i]), false).computedAt;
      });
    }, "computedAtMany");
  }
}
