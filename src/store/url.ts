/**
 * Store URLs as given on the command line (`--store URL`):
 *   `file:PATH`                  the embedded SQLite store at PATH (relative to the working folder;
 *                                `file:///abs/path` is also accepted)
 *   `redis://[[USER]:PASS@]HOST[:PORT][/DB]`  a Redis server (port 6379 and DB 0 by default)
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

export type StoreUrl = FileStoreUrl | RedisStoreUrl;

const FORMS = "use file:PATH (embedded SQLite) or redis://HOST:PORT[/DB]";

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

/** A URL for messages and logs, with any password masked. */
export function describeStoreUrl(url: StoreUrl): string {
  if (url.kind === "file") return `file:${url.path}`;
  const auth = url.password !== undefined ? `${url.username ?? ""}:***@` : "";
  const host = url.host.includes(":") ? `[${url.host}]` : url.host;
  return `redis://${auth}${host}:${url.port}/${url.db}`;
}
