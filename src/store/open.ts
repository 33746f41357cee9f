/**
 * Opening a feature store from a `--store` URL: `file:PATH` → SQLite, `redis://…` → Redis.
 * The one place that knows both implementations; everything else depends on `FeatureStore`.
 */
import type { FeatureStore, OpenStoreArgs, VersionInfo } from "./featureStore.ts";
import { listRedisVersions, openRedisStore, type RedisStoreOptions } from "./redis.ts";
import { listSqliteVersions, openSqliteStore } from "./sqlite.ts";
import { parseStoreUrl, type StoreUrl } from "./url.ts";

/** Parses `url` (unless already parsed) and opens the namespace of `args.modelVersion` in it. */
export async function openFeatureStore(
  url: string | StoreUrl,
  args: OpenStoreArgs,
  redisOptions: RedisStoreOptions = {},
): Promise<FeatureStore> {
  const parsed = typeof url === "string" ? parseStoreUrl(url) : url;
  return parsed.kind === "file"
    ? openSqliteStore(parsed.path, args)
    : openRedisStore(parsed, args, redisOptions);
}

/** The namespaces (model versions) a store holds, without opening one; for operators and the service. */
export async function listStoreVersions(
  url: string | StoreUrl,
  redisOptions: RedisStoreOptions = {},
): Promise<VersionInfo[]> {
  const parsed = typeof url === "string" ? parseStoreUrl(url) : url;
  return parsed.kind === "file" ? listSqliteVersions(parsed.path) : listRedisVersions(parsed, redisOptions);
}
