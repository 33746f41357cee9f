/** The queue flags without a Redis server: `--queue` URLs and queue names (the rest: test/queue-cli.test.ts). */
import { describe, expect, it } from "vitest";
import { checkQueueName, newRunId, parseQueueUrl, shardJobId } from "./shardQueue.ts";

describe("shardQueue flags", () => {
  it("parses redis:// URLs with the defaults of a store URL", () => {
    expect(parseQueueUrl("redis://10.0.0.5:6380/2")).toEqual({
      kind: "redis",
      host: "10.0.0.5",
      port: 6380,
      db: 2,
    });
    expect(parseQueueUrl("redis://h")).toEqual({ kind: "redis", host: "h", port: 6379, db: 0 });
    expect(parseQueueUrl("redis://:s3cret@h:1/0")).toMatchObject({ password: "s3cret" });
  });

  it("refuses anything else with CTXREC_ERR_ARG naming the flag and the accepted form", () => {
    const bad: [string, RegExp][] = [
      ["", /is empty/],
      ["localhost:6379", /unsupported scheme|no scheme/],
      ["http://h:6379", /unsupported scheme "http:"/],
      ["redis://h:6379/x", /only a database number/],
      ["file:queue.db", /not a Redis server URL/],
      ["redis-cluster://a:1,b:2", /not a Redis server URL/],
    ];
    for (const [text, reason] of bad) {
      let err: unknown;
      try {
        parseQueueUrl(text, "--queue");
      } catch (e) {
        err = e;
      }
      expect(err, text).toMatchObject({ code: "CTXREC_ERR_ARG", location: { param: "--queue" } });
      expect((err as Error).message, text).toMatch(reason);
      expect((err as Error).message, text).toMatch(/redis:\/\/HOST:PORT\[\/DB\]/);
      expect((err as Error).message, text).not.toMatch(/file:PATH|store URL/);
      expect((err as Error).message, text).toContain(`queue URL ${JSON.stringify(text)}`);
    }
  });

  it("checks queue names and builds job ids without ':'", () => {
    expect(() => checkQueueName("ctxrec-encode.daily_1")).not.toThrow();
    for (const name of ["", "a:b", "a b", "x".repeat(101)]) {
      expect(() => checkQueueName(name, "--queue-name"), name).toThrow(/queue name .* is invalid/);
    }
    const run = newRunId();
    expect(run).toMatch(/^[0-9a-z]+-[0-9a-f]{8}$/);
    expect(shardJobId(run, 3)).toBe(`${run}-s3`);
    expect(newRunId()).not.toBe(run);
  });
});
