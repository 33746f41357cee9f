/**
 * `ctxrec stream --events URL`: the Redis Stream new events arrive on, written
 * `redis://[[USER]:PASS@]HOST[:PORT][/DB]/STREAM`. The last path segment is the stream's key; the
 * segment before it, when there is one, the database (0 by default), as in a `--store` URL. The
 * server part is parsed by the store's parser, so both flags accept the same forms.
 */
import { CtxrecError } from "../core/errors.ts";
import { describeStoreUrl, parseStoreUrl, type RedisStoreUrl } from "../store/url.ts";

/** A Redis server and the key of a stream on it. */
export interface EventsUrl {
  server: RedisStoreUrl;
  /** The stream's key (URL-decoded). */
  stream: string;
}

function bad(text: string, reason: string, param: string): CtxrecError {
  return new CtxrecError(
    "CTXREC_ERR_ARG",
    `events URL ${JSON.stringify(text)} ${reason}; use redis://HOST:PORT[/DB]/STREAM (e.g. redis://127.0.0.1:6379/0/ctxrec-events)`,
    { param },
  );
}

/** Parses an events URL; CTXREC_ERR_ARG naming `param` and the accepted form otherwise. */
export function parseEventsUrl(text: string, param = "--events"): EventsUrl {
  if (typeof text !== "string" || !text.startsWith("redis://"))
    throw bad(String(text), "is not a redis:// URL", param);
  // The path starts at the first "/" after the authority (a password may hold "/" only encoded).
  const slash = text.indexOf("/", "redis://".length);
  if (slash < 0) throw bad(text, "names no stream", param);
  const segments = text.slice(slash + 1).split("/");
  if (segments.length > 2 || segments.at(-1) === "") throw bad(text, "names no stream", param);
  // `redis://h:6379/15` is a --store URL pasted as is far more often than a stream named "15".
  if (segments.length === 1 && /^\d+$/.test(segments[0]))
    throw bad(
      text,
      `names no stream ("/${segments[0]}" reads as a database number; write /${segments[0]}/STREAM)`,
      param,
    );
  let stream: string;
  try {
    stream = decodeURIComponent(segments.at(-1) as string);
  } catch {
    throw bad(text, "has a stream name that is not valid percent-encoding", param);
  }
  const dbPart = segments.length === 2 ? `/${segments[0]}` : "";
  let server: RedisStoreUrl;
  try {
    server = parseStoreUrl(text.slice(0, slash) + dbPart) as RedisStoreUrl;
  } catch (err) {
    const reason =
      err instanceof CtxrecError
        ? err.message.replace(/^.*?store URL "[^"]*" /, "").replace(/;.*$/, "")
        : String(err);
    throw bad(text, reason, param);
  }
  return { server, stream };
}

/** The URL for messages and logs, password masked. */
export function describeEventsUrl(url: EventsUrl): string {
  return `${describeStoreUrl(url.server)}/${encodeURIComponent(url.stream)}`;
}
