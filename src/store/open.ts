/**
 * Opening a feature store from a `--store` URL: `file:PATH` → SQLite, `redis://…` → Redis,
 * `redis-cluster://…` → Redis Cluster. The one place that knows the implementations; everything else depends on `FeatureStore`.
 */
import { listClusterVersions, openClusterStore } from "./cluster.ts";
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
  if (parsed.kind === "file") return openSqliteStore(parsed.path, args);
  if (parsed.kind === "redis-cluster") return openClusterStore(parsed, args, redisOptions);
  return openRedisStore(parsed, args, redisOptions);
}

/** The namespaces (model versions) a store holds, without opening one; for operators and the service. */
export async function listStoreVersions(
  url: string | StoreUrl,
  redisOptions: RedisStoreOptions = {},
): Promise<VersionInfo[]> {
  const parsed = typeof url === "string" ? parseStoreUrl(url) : url;
  if (parsed.kind === "file") return listSqliteVersions(parsed.path);
  if (parsed.kind === "redis-cluster") return listClusterVersions(parsed, redisOptions);
  return listRedisVersions(parsed, redisOptions);
}
