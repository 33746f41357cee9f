/**
 * Store URLs as given on the command line (`--store URL`):
 *   `file:PATH`                  the embedded SQLite store at PATH (relative to the working folder;
 *                                `file:///abs/path` is also accepted)
 *   `redis://[[USER]:PASS@]HOST[:PORT][/DB]`  a Redis server (port 6379 and DB 0 by default)
 *   `redis-cluster://[[USER]:PASS@]HOST:PORT,HOST:PORT,…`  a Redis Cluster, by its seed nodes
 *                                (each needs its port; IPv6 in brackets; no database number)
 */
import { fileURLToPath } from "node:url";
import { CtxrecError } from "../core/errors.ts";

export interface FileStoreUrl {
  kind: "file";
  path: string;
}

export interface RedisStoreUrl {
  kind: "redis";
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
}

export interface RedisClusterStoreUrl {
  kind: "redis-cluster";
  /** Seed nodes; the client learns the rest of the cluster from them. */
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
}

export type StoreUrl = FileStoreUrl | RedisStoreUrl | RedisClusterStoreUrl;

const FORMS =
  "use file:PATH (embedded SQLite) or redis://HOST:PORT[/DB], or redis-cluster://HOST:PORT,HOST:PORT,… (Redis Cluster)";

function bad(url: string, reason: string): CtxrecError {
  return new CtxrecError("CTXREC_ERR_ARG", `store URL ${JSON.stringify(url)} ${reason}; ${FORMS}`, {
    param: "store URL",
  });
}

/** Parses a store URL; throws CTXREC_ERR_ARG naming the URL and the accepted forms. */
export function parseStoreUrl(url: string): StoreUrl {
  if (typeof url !== "string" || url.length === 0) throw bad(String(url), "is empty");
  if (url.startsWith("file:")) {
    const rest = url.slice("file:".length);
    let p = rest;
    if (rest.startsWith("//")) {
      try {
        p = fileURLToPath(url);
      } catch (err) {
        throw bad(url, `is not a valid file URL (${(err as Error).message})`);
      }
    }
    if (p.length === 0) throw bad(url, "has no path");
    return { kind: "file", path: p };
  }
  if (url.startsWith("redis://")) return parseRedisUrl(url);
  if (url.startsWith("redis-cluster://")) return parseClusterUrl(url);
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
  throw bad(url, scheme ? `has the unsupported scheme "${scheme}:"` : "has no scheme");
}

function parseRedisUrl(url: string): RedisStoreUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad(url, "is not a valid URL");
  }
  // WHATWG keeps IPv6 hosts in brackets; the socket wants them bare.
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host.length === 0) throw bad(url, "has no host");
  const port = u.port === "" ? 6379 : Number(u.port);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw bad(url, `has the invalid port "${u.port}"`);
  const dbText = u.pathname.replace(/^\//, "");
  if (dbText !== "" && !/^\d{1,5}$/.test(dbText)) {
    throw bad(url, `has the path "${u.pathname}"; the path is only a database number (e.g. /0)`);
  }
  if (u.search !== "" || u.hash !== "") throw bad(url, "has a query or fragment, which are not supported");
  const out: RedisStoreUrl = { kind: "redis", host, port, db: dbText === "" ? 0 : Number(dbText) };
  if (u.username !== "") out.username = decodeURIComponent(u.username);
  if (u.password !== "") out.password = decodeURIComponent(u.password);
  return out;
}

function parseClusterUrl(url: string): RedisClusterStoreUrl {
  let rest = url.slice("redis-cluster://".length);
  const out: RedisClusterStoreUrl = { kind: "redis-cluster", nodes: [] };
  const at = rest.lastIndexOf("@");
  if (at >= 0) {
    const auth = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = auth.indexOf(":");
    const user = colon >= 0 ? auth.slice(0, colon) : auth;
    const pass = colon >= 0 ? auth.slice(colon + 1) : "";
    try {
      if (user !== "") out.username = decodeURIComponent(user);
      if (pass !== "") out.password = decodeURIComponent(pass);
    } catch {
      throw bad(url, "has a user or password that is not valid percent-encoding");
    }
  }
  if (/[/?#]/.test(rest)) {
    throw bad(
      url,
      "has a path, query or fragment; a cluster URL is only its nodes (Redis Cluster has no databases)",
    );
  }
  if (rest === "") throw bad(url, "has no nodes");
  for (const [i, node] of rest.split(",").entries()) {
    const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(node);
    if (m === null) {
      throw bad(url, `has the malformed node ${i + 1} ${JSON.stringify(node)}; write each node as HOST:PORT`);
    }
    const port = Number(m[3]);
    if (port < 1 || port > 65_535) throw bad(url, `has the invalid port "${m[3]}" in node ${i + 1}`);
    out.nodes.push({ host: m[1] ?? m[2], port });
  }
  return out;
}

/** A URL for messages and logs, with any password masked. */
export function describeStoreUrl(url: StoreUrl): string {
  if (url.kind === "file") return `file:${url.path}`;
  const bracket = (h: string) => (h.includes(":") ? `[${h}]` : h);
  if (url.kind === "redis-cluster") {
    const auth = url.password !== undefined ? `${url.username ?? ""}:***@` : "";
    return `redis-cluster://${auth}${url.nodes.map((n) => `${bracket(n.host)}:${n.port}`).join(",")}`;
  }
  const auth = url.password !== undefined ? `${url.username ?? ""}:***@` : "";
  const host = url.host.includes(":") ? `[${url.host}]` : url.host;
  return `redis://${auth}${host}:${url.port}/${url.db}`;
}
