import path from "node:path";
import { describe, expect, it } from "vitest";
import { CtxrecError } from "../core/errors.ts";
import { openFeatureStore } from "./open.ts";
import { describeStoreUrl, parseStoreUrl } from "./url.ts";

describe("parseStoreUrl", () => {
  it("reads file: URLs, relative, absolute and file:///", () => {
    expect(parseStoreUrl("file:state.db")).toEqual({ kind: "file", path: "state.db" });
    expect(parseStoreUrl("file:/tmp/x/state.db")).toEqual({ kind: "file", path: "/tmp/x/state.db" });
    expect(parseStoreUrl("file:///tmp/a%20b.db")).toEqual({ kind: "file", path: "/tmp/a b.db" });
  });

  it("reads redis:// URLs with defaults (port 6379, db 0), auth and IPv6", () => {
    expect(parseStoreUrl("redis://localhost")).toEqual({
      kind: "redis",
      host: "localhost",
      port: 6379,
      db: 0,
    });
    expect(parseStoreUrl("redis://127.0.0.1:6380/3")).toEqual({
      kind: "redis",
      host: "127.0.0.1",
      port: 6380,
      db: 3,
    });
    expect(parseStoreUrl("redis://:s%40cret@h:1/0")).toEqual({
      kind: "redis",
      host: "h",
      port: 1,
      db: 0,
      password: "s@cret",
    });
    expect(parseStoreUrl("redis://[::1]:6379/2")).toMatchObject({ host: "::1", port: 6379, db: 2 });
  });

  it("reads redis-cluster:// URLs: seed nodes, auth, IPv6", () => {
    expect(parseStoreUrl("redis-cluster://10.0.0.1:7000,10.0.0.2:7001")).toEqual({
      kind: "redis-cluster",
      nodes: [
        { host: "10.0.0.1", port: 7000 },
        { host: "10.0.0.2", port: 7001 },
      ],
    });
    expect(parseStoreUrl("redis-cluster://u:p%40w@h:1,[::1]:2")).toEqual({
      kind: "redis-cluster",
      nodes: [
        { host: "h", port: 1 },
        { host: "::1", port: 2 },
      ],
      username: "u",
      password: "p@w",
    });
    expect(describeStoreUrl(parseStoreUrl("redis-cluster://u:pw@h:1,[::1]:2"))).toBe(
      "redis-cluster://u:***@h:1,[::1]:2",
    );
  });

  it.each([
    ["redis-cluster://", /has no nodes/],
    ["redis-cluster://h", /malformed node 1 "h".*HOST:PORT/],
    ["redis-cluster://h:7000,,h:7001", /malformed node 2 ""/],
    ["redis-cluster://h:7000,h:99999", /invalid port "99999" in node 2/],
    ["redis-cluster://h:7000/0", /no databases/],
  ])("refuses the cluster URL %j, naming the bad field", (url, reason) => {
    expect(() => parseStoreUrl(url)).toThrow(reason);
  });

  it.each([
    ["", /is empty/],
    ["state.db", /has no scheme/],
    ["http://x", /unsupported scheme "http:"/],
    ["file:", /has no path/],
    ["redis://h:99999", /not a valid URL|invalid port/],
    ["redis://h:6379/db", /only a database number/],
    ["redis://h:6379/1/2", /only a database number/],
    ["redis://h:6379/0?x=1", /query/],
  ])("refuses %j, naming the URL and the accepted forms", (url, reason) => {
    const err = (() => {
      try {
        parseStoreUrl(url);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CtxrecError);
    expect((err as CtxrecError).code).toBe("CTXREC_ERR_ARG");
    expect((err as CtxrecError).message).toMatch(reason);
    expect((err as CtxrecError).message).toContain("file:PATH (embedded SQLite) or redis://HOST:PORT[/DB]");
  });

  it("masks passwords when describing a URL", () => {
    expect(describeStoreUrl(parseStoreUrl("redis://u:pw@h:7/1"))).toBe("redis://u:***@h:7/1");
    expect(describeStoreUrl(parseStoreUrl("file:a.db"))).toBe("file:a.db");
  });

  it("openFeatureStore rejects (does not throw synchronously) on a bad URL or a missing folder", async () => {
    await expect(openFeatureStore("nope", { modelVersion: "v1", dim: 2 })).rejects.toThrow(/has no scheme/);
    const missing = path.join("/nonexistent-ctxrec-dir", "s.db");
    await expect(
      openFeatureStore(`file:${missing}`, { modelVersion: "v1", dim: 2, mode: "write" }),
    ).rejects.toThrow(/nonexistent-ctxrec-dir does not exist/);
  });
});
