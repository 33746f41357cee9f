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
import { CtxrecError, wrapError } from "../core/errors.ts";
import {
  checkEntry,
  checkOpenArgs,
  checkUser,
  checkUsers,
  checkWritable,
  dimMismatchError,
  type FeatureStore,
  missingVersionError,
  type OpenStoreArgs,
  type StateEntry,
  type StoreCounters,
  type VersionInfo,
} from "./featureStore.ts";
import { decodeHeader, decodeRecord, encodeRecord, MAX_HEADER, type RecordContext } from "./record.ts";
import { describeStoreUrl, type RedisStoreUrl } from "./url.ts";

/** Redis-only settings. */
export interface RedisStoreOptions {
  /** Key prefix shared by every key of the store (default `ctxrec:fs`); lets deployments share a server. */
  keyPrefix?: string;
  /** Milliseconds to wait for the first connection (default 2000). */
  connectTimeoutMs?: number;
}

const DEFAULT_PREFIX = "ctxrec:fs";

/** Connects to Redis and opens the namespace of `args.modelVersion`. */
export async function openRedisStore(
  url: RedisStoreUrl,
  args: OpenStoreArgs,
  options: RedisStoreOptions = {},
): Promise<FeatureStore> {
  const a = checkOpenArgs(args);
  const prefix = options.keyPrefix ?? DEFAULT_PREFIX;
  if (!/^[^\s]{1,200}$/.test(prefix)) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `key prefix ${JSON.stringify(prefix)} must be 1-200 non-space characters`,
      {
        param: "keyPrefix",
      },
    );
  }
  const where = describeStoreUrl(url);
  const redis = await connect(url, where, options.connectTimeoutMs ?? 2000);
  try {
    const versionsKey = `${prefix}:versions`;
    if (a.mode === "write") {
      const meta = JSON.stringify({ dim: a.dim, createdAt: Math.floor(Date.now() / 1000) });
      await redis.hsetnx(versionsKey, a.modelVersion, meta);
    }
    const stored = await redis.hget(versionsKey, a.modelVersion);
    if (stored === null) {
      throw missingVersionError(where, a.modelVersion, await listVersions(redis, prefix), a.counters);
    }
    const dim = (JSON.parse(stored) as { dim: number }).dim;
    if (dim !== a.dim) throw dimMismatchError(where, a.modelVersion, dim, a.dim);
    return new RedisFeatureStore(redis, where, prefix, a.modelVersion, a.dim, a.mode, a.counters);
  } catch (err) {
    redis.disconnect();
    throw wrapError("CTXREC_ERR_STORE", err, "Redis refused the request; check the server and the URL", {
      param: "store URL",
    });
  }
}

/** Every namespace in the Redis store at `url`. */
export async function listRedisVersions(
  url: RedisStoreUrl,
  options: RedisStoreOptions = {},
): Promise<VersionInfo[]> {
  const where = describeStoreUrl(url);
  const redis = await connect(url, where, options.connectTimeoutMs ?? 2000);
  try {
    return await listVersions(redis, options.keyPrefix ?? DEFAULT_PREFIX);
  } catch (err) {
    throw wrapError("CTXREC_ERR_STORE", err, `Redis at ${where} failed; check the server`, {
      param: "store URL",
    });
  } finally {
    redis.disconnect();
  }
}

async function connect(url: RedisStoreUrl, where: string, timeoutMs: number): Promise<Redis> {
  const redis = new Redis({
    host: url.host,
    port: url.port,
    db: url.db,
    username: url.username,
    password: url.password,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    // Once connected, a command fails after one reconnection attempt instead of hanging;
    // reconnection itself keeps going in the background (a restarted Redis is picked up again).
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  // Without a listener ioredis prints every reconnection error; failures reach callers as
  // rejections. The socket's error (e.g. ECONNREFUSED) says more than connect()'s rejection.
  let socketError: unknown;
  redis.on("error", (err) => {
    socketError ??= err;
  });
  try {
    await redis.connect();
    return redis;
  } catch (err) {
    redis.disconnect();
    throw wrapError(
      "CTXREC_ERR_STORE",
      socketError ?? err,
      `cannot reach Redis at ${where}; start redis-server (e.g. \`redis-server --port ${url.port} --bind 127.0.0.1 --daemonize yes\`) or fix the URL`,
      { param: "store URL" },
    );
  }
}

async function listVersions(redis: Redis, prefix: string): Promise<VersionInfo[]> {
  const [all, active] = await Promise.all([
    redis.hgetall(`${prefix}:versions`),
    redis.get(`${prefix}:active`),
  ]);
  return Object.entries(all)
    .map(([modelVersion, json]) => {
      const m = JSON.parse(json) as { dim: number; createdAt: number };
      return { modelVersion, dim: m.dim, createdAt: m.createdAt, active: modelVersion === active };
    })
    .sort((x, y) => x.createdAt - y.createdAt || x.modelVersion.localeCompare(y.modelVersion));
}

class RedisFeatureStore implements FeatureStore {
  private readonly userPrefix: string;
  private closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly where: string,
    private readonly prefix: string,
    readonly modelVersion: string,
    readonly dim: number,
    readonly mode: "read" | "write",
    readonly counters: StoreCounters,
  ) {
    this.userPrefix = `${prefix}:v:${modelVersion}:u:`;
  }

  private key(user: string): string {
    return this.userPrefix + user;
  }

  private ctx(user: string): RecordContext {
    return {
      where: this.where,
      user,
      modelVersion: this.modelVersion,
      dim: this.dim,
      counters: this.counters,
    };
  }

  private async guard<T>(fn: () => Promise<T>, what: string): Promise<T> {
    if (this.closed) throw new CtxrecError("CTXREC_ERR_ARG", `${what} after close()`, { param: "store URL" });
    try {
      return await fn();
    } catch (err) {
      throw wrapError(
        "CTXREC_ERR_STORE",
        err,
        `Redis at ${this.where} failed during ${what}; check the server`,
        {
          param: "store URL",
        },
      );
    }
  }

  private decode(user: string, record: Buffer | null): StateEntry | undefined {
    if (record === null) {
      this.counters.misses++;
      return undefined;
    }
    const entry = decodeRecord(record, this.ctx(user));
    this.counters.hits++;
    return entry;
  }

  get(user: string): Promise<StateEntry | undefined> {
    return this.guard(async () => {
      checkUser(user, "user");
      return this.decode(user, await this.redis.getBuffer(this.key(user)));
    }, "get");
  }

  getMany(users: readonly string[]): Promise<(StateEntry | undefined)[]> {
    return this.guard(async () => {
      checkUsers(users);
      if (users.length === 0) return [];
      const records = await this.redis.mgetBuffer(users.map((u) => this.key(u)));
      return records.map((r, i) => this.decode(users[i], r));
    }, "getMany");
  }

  put(entry: StateEntry): Promise<void> {
    return this.putMany([entry]);
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
      const multi = this.redis.multi();
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
      const pipe = this.redis.pipeline();
      for (const u of users) pipe.getrangeBuffer(this.key(u), 0, end);
      const results = (await pipe.exec()) ?? [];
      return results.map(([err, buf], i) => {
        if (err) throw err;
        const b = buf as Buffer;
        return b.length === 0 ? undefined : decodeHeader(b, this.ctx(users[i]), false).computedAt;
      });
    }, "computedAtMany");
  }

  versionOf(): string {
    return this.modelVersion;
  }

  activeVersion(): Promise<string | undefined> {
    return this.guard(
      async () => (await this.redis.get(`${this.prefix}:active`)) ?? undefined,
      "activeVersion",
    );
  }

  activate(): Promise<void> {
    return this.guard(async () => {
      checkWritable(this, "activate");
      await this.redis.set(`${this.prefix}:active`, this.modelVersion);
    }, "activate");
  }

  listVersions(): Promise<VersionInfo[]> {
    return this.guard(() => listVersions(this.redis, this.prefix), "listVersions");
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect(); // already gone: nothing left to flush
    }
  }
}
