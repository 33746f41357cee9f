/**
 * What the single-server Redis store (`redis.ts`) and the Redis Cluster store (`cluster.ts`) share:
 * connecting with a clear error, opening a version's namespace (the `versions` hash and the
 * `active` pointer), listing versions, and the handle methods that do not touch user state. The
 * two differ only in how user records are keyed, written and read; those stay in their modules.
 */
import { type Cluster, Redis } from "ioredis";
import { CtxrecError, wrapError } from "../core/errors.ts";
import {
  checkOpenArgs,
  checkWritable,
  dimMismatchError,
  type FeatureStore,
  missingVersionError,
  type OpenStoreArgs,
  type StateEntry,
  type StoreCounters,
  type VersionInfo,
} from "./featureStore.ts";
import { decodeRecord, type RecordContext } from "./record.ts";
import type { RedisStoreUrl } from "./url.ts";

/** Either ioredis client: both speak the same commands for single-key operations. */
export type RedisClient = Redis | Cluster;

/** ioredis' connection fields of a `redis://` URL (what every client to one server shares). */
export function redisAddress(url: RedisStoreUrl) {
  return { host: url.host, port: url.port, db: url.db, username: url.username, password: url.password };
}

/**
 * A client connected to `url` that has answered PING within `timeoutMs`, without retries (the
 * caller disconnects it); rejects with ioredis' error otherwise. For probes that must not hang.
 */
export async function pingRedis(url: RedisStoreUrl, timeoutMs: number): Promise<Redis> {
  const r = new Redis({
    ...redisAddress(url),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  r.on("error", () => {});
  try {
    await r.connect();
    await r.ping();
    return r;
  } catch (err) {
    r.disconnect();
    throw err;
  }
}

/** Settings of both Redis stores. */
export interface RedisStoreOptions {
  /** Key prefix shared by every key of the store (default `ctxrec:fs`); lets deployments share a server. */
  keyPrefix?: string;
  /** Milliseconds to wait for the first connection (default 2000). */
  connectTimeoutMs?: number;
}

export const DEFAULT_PREFIX = "ctxrec:fs";

/** The two keys that describe a store's namespaces. */
export interface MetaKeys {
  /** HASH model version → `{"dim","createdAt"}`. */
  versions: string;
  /** STRING: the active model version. */
  active: string;
}

/**
 * Checks a key prefix: 1-200 non-space characters. `noBraces` (Redis Cluster): no `{` or `}`,
 * since the cluster store puts the prefix inside a hash tag.
 */
export function checkPrefix(prefix: string, noBraces: boolean): string {
  const ok = noBraces ? /^[^\s{}]{1,200}$/ : /^[^\s]{1,200}$/;
  if (typeof prefix !== "string" || !ok.test(prefix)) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `key prefix ${JSON.stringify(prefix)} must be 1-200 non-space characters${noBraces ? ' without "{" or "}"' : ""}`,
      { param: "keyPrefix" },
    );
  }
  return prefix;
}

/**
 * Connects a lazily created client. Without an error listener ioredis prints every reconnection
 * error; failures reach callers as rejections, and the socket's error (e.g. ECONNREFUSED) says more
 * than connect()'s own rejection, so that one is reported, with `fix`.
 */
export async function connectClient<C extends RedisClient>(client: C, fix: string): Promise<C> {
  let socketError: unknown;
  client.on("error", (err: unknown) => {
    socketError ??= err;
  });
  try {
    await client.connect();
    return client;
  } catch (err) {
    client.disconnect();
    throw wrapError("CTXREC_ERR_STORE", socketError ?? err, fix, { param: "store URL" });
  }
}

/** Every namespace, oldest first, with the active flag. */
export async function listVersionsAt(client: RedisClient, keys: MetaKeys): Promise<VersionInfo[]> {
  const [all, active] = await Promise.all([client.hgetall(keys.versions), client.get(keys.active)]);
  return Object.entries(all)
    .map(([modelVersion, json]) => {
      const m = JSON.parse(json) as { dim: number; createdAt: number };
      return { modelVersion, dim: m.dim, createdAt: m.createdAt, active: modelVersion === active };
    })
    .sort((x, y) => x.createdAt - y.createdAt || x.modelVersion.localeCompare(y.modelVersion));
}

/** How one store kind connects and builds its handle. */
export interface RedisOpener<C extends RedisClient> {
  /** The URL for messages, password masked. */
  where: string;
  /** "Redis" or "Redis Cluster", for messages. */
  label: string;
  keys: MetaKeys;
  connect(): Promise<C>;
  /** The handle, once the namespace is known to exist with the asked width. */
  make(client: C, a: Required<OpenStoreArgs>): FeatureStore;
}

/**
 * Opens the namespace of `args.modelVersion`: created (`HSETNX`, so a concurrent writer's creation
 * time is kept) in write mode, refused when absent in read mode, refused when its width differs.
 */
export async function openNamespace<C extends RedisClient>(
  opener: RedisOpener<C>,
  args: OpenStoreArgs,
): Promise<FeatureStore> {
  const a = checkOpenArgs(args);
  const client = await opener.connect();
  try {
    if (a.mode === "write") {
      const meta = JSON.stringify({ dim: a.dim, createdAt: Math.floor(Date.now() / 1000) });
      await client.hsetnx(opener.keys.versions, a.modelVersion, meta);
    }
    const stored = await client.hget(opener.keys.versions, a.modelVersion);
    if (stored === null) {
      throw missingVersionError(
        opener.where,
        a.modelVersion,
        await listVersionsAt(client, opener.keys),
        a.counters,
      );
    }
    const dim = (JSON.parse(stored) as { dim: number }).dim;
    if (dim !== a.dim) throw dimMismatchError(opener.where, a.modelVersion, dim, a.dim);
    return opener.make(client, a);
  } catch (err) {
    client.disconnect();
    throw wrapError(
      "CTXREC_ERR_STORE",
      err,
      `${opener.label} refused the request; check the server and the URL`,
      { param: "store URL" },
    );
  }
}

/** Lists the namespaces without opening one. */
export async function listNamespaces<C extends RedisClient>(
  opener: Omit<RedisOpener<C>, "make">,
): Promise<VersionInfo[]> {
  const client = await opener.connect();
  try {
    return await listVersionsAt(client, opener.keys);
  } catch (err) {
    throw wrapError("CTXREC_ERR_STORE", err, `${opener.label} at ${opener.where} failed; check the server`, {
      param: "store URL",
    });
  } finally {
    client.disconnect();
  }
}

/**
 * A handle on one namespace: everything except how user records are keyed, written and read,
 * which subclasses provide.
 */
export abstract class RedisBackedStore<C extends RedisClient> implements FeatureStore {
  private closed = false;

  constructor(
    protected readonly client: C,
    protected readonly where: string,
    protected readonly label: string,
    private readonly keys: MetaKeys,
    readonly modelVersion: string,
    readonly dim: number,
    readonly mode: "read" | "write",
    readonly counters: StoreCounters,
  ) {}

  abstract get(user: string): Promise<StateEntry | undefined>;
  abstract getMany(users: readonly string[]): Promise<(StateEntry | undefined)[]>;
  abstract putMany(entries: readonly StateEntry[]): Promise<void>;
  abstract computedAtMany(users: readonly string[]): Promise<(number | undefined)[]>;

  protected ctx(user: string): RecordContext {
    return {
      where: this.where,
      user,
      modelVersion: this.modelVersion,
      dim: this.dim,
      counters: this.counters,
    };
  }

  /** Runs `fn`, refusing a closed handle and wrapping server failures into CTXREC_ERR_STORE. */
  protected async guard<T>(fn: () => Promise<T>, what: string): Promise<T> {
    if (this.closed) throw new CtxrecError("CTXREC_ERR_ARG", `${what} after close()`, { param: "store URL" });
    try {
      return await fn();
    } catch (err) {
      throw wrapError(
        "CTXREC_ERR_STORE",
        err,
        `${this.label} at ${this.where} failed during ${what}; check the server`,
        { param: "store URL" },
      );
    }
  }

  /** A record (or its absence) as an entry, counting hits and misses. */
  protected decode(user: string, record: Buffer | null | undefined): StateEntry | undefined {
    if (record === null || record === undefined) {
      this.counters.misses++;
      return undefined;
    }
    const entry = decodeRecord(record, this.ctx(user));
    this.counters.hits++;
    return entry;
  }

  put(entry: StateEntry): Promise<void> {
    return this.putMany([entry]);
  }

  versionOf(): string {
    return this.modelVersion;
  }

  activeVersion(): Promise<string | undefined> {
    return this.guard(async () => (await this.client.get(this.keys.active)) ?? undefined, "activeVersion");
  }

  activate(): Promise<void> {
    return this.guard(async () => {
      checkWritable(this, "activate");
      await this.client.set(this.keys.active, this.modelVersion);
    }, "activate");
  }

  listVersions(): Promise<VersionInfo[]> {
    return this.guard(() => listVersionsAt(this.client, this.keys), "listVersions");
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect(); // already gone: nothing left to flush
    }
  }
}
