/** The consumer's pure rules: what is retried, the back-off schedule, and how a failed batch is named. */
import { describe, expect, it } from "vitest";
import { CtxrecError } from "../core/errors.ts";
import { backoffDelay, batchFailure, isRetryable } from "./consumer.ts";

const reply = (message: string) => Object.assign(new Error(message), { name: "ReplyError" });

describe("isRetryable", () => {
  it("retries a lost connection, passing replies and an unreachable store", () => {
    expect(isRetryable(new Error("Connection is closed."))).toBe(true);
    expect(isRetryable(new Error("connect ECONNREFUSED 127.0.0.1:6379"))).toBe(true);
    expect(isRetryable(Object.assign(new Error("x"), { name: "MaxRetriesPerRequestError" }))).toBe(true);
    expect(isRetryable(reply("NOGROUP No such key 'ev' or consumer group 'g'"))).toBe(true);
    expect(isRetryable(reply("LOADING Redis is loading the dataset in memory"))).toBe(true);
    expect(isRetryable(new CtxrecError("CTXREC_ERR_STORE", "down"))).toBe(true);
  });

  it("does not retry what would fail again", () => {
    expect(isRetryable(reply("WRONGTYPE Operation against a key holding the wrong kind of value"))).toBe(
      false,
    );
    expect(isRetryable(new CtxrecError("CTXREC_ERR_ENGINE", "encoder"))).toBe(false);
    expect(isRetryable(new CtxrecError("CTXREC_ERR_ARTIFACT_VERSION", "inactive"))).toBe(false);
    expect(isRetryable(new TypeError("x is undefined"))).toBe(false);
    expect(isRetryable("a string")).toBe(false);
  });
});

describe("backoffDelay", () => {
  it("doubles from the first delay up to the cap: 100, 200, 400, … 5000 ms", () => {
    expect([0, 1, 2, 3, 5, 6, 100].map((a) => backoffDelay(a, 100, 5000))).toEqual([
      100, 200, 400, 800, 3200, 5000, 5000,
    ]);
  });
});

describe("batchFailure", () => {
  it("names the batch's entries and keeps the cause's code; retryable errors pass unchanged", () => {
    const cause = new CtxrecError("CTXREC_ERR_ENGINE", "the encoder failed");
    const e = batchFailure(cause, [
      ["1-0", []],
      ["1-1", []],
      ["2-0", null],
    ]) as CtxrecError;
    expect(e.code).toBe("CTXREC_ERR_ENGINE");
    expect(e.message).toBe(
      "the micro-batch of entries 1-0 … 2-0 (3) failed and stays pending for another consumer: the encoder failed",
    );
    expect(e.cause).toBe(cause);
    expect((batchFailure(new TypeError("bug"), [["7-0", []]]) as CtxrecError).code).toBe(
      "CTXREC_ERR_INTERNAL",
    );
    const down = new Error("Connection is closed.");
    expect(batchFailure(down, [["1-0", []]])).toBe(down);
  });
});
