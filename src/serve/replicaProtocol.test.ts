/**
 * The replica channel's pieces that need no process: an error crosses it unchanged (same code,
 * message and location, so the replica that got the request answers what a single process would),
 * only paths travel in a source, and the primary's restart backoff.
 */
import { describe, expect, it } from "vitest";
import { CtxrecError } from "../core/errors.ts";
import { errorReply } from "./httpErrors.ts";
import { MAX_BACKOFF_MS, restartDelayMs } from "./replicaPrimary.ts";
import { fromWire, isCtxrecMessage, sourcePaths, toWire } from "./replicaProtocol.ts";

describe("errors over the replica channel", () => {
  it("keeps a CtxrecError's code, message and location, so its HTTP answer is the same", () => {
    const err = new CtxrecError("CTXREC_ERR_ARTIFACT_VERSION", "index built for model version 'a'", {
      file: "/m/items.ctxidx",
      field: "modelVersion",
    });
    // Through JSON, as the IPC channel serialises it.
    const back = fromWire(JSON.parse(JSON.stringify(toWire(err))));
    expect(back).toBeInstanceOf(CtxrecError);
    expect(back.message).toBe("/m/items.ctxidx: modelVersion: index built for model version 'a'");
    expect(back.message).toBe(err.message);
    expect(errorReply(back)).toEqual(errorReply(err)); // 409, same body and field
  });

  it("keeps a message without a location as it is", () => {
    const err = new CtxrecError("CTXREC_ERR_STORE", "Redis refused");
    expect(fromWire(toWire(err)).message).toBe("Redis refused");
  });

  it("turns anything else into CTXREC_ERR_INTERNAL with its message", () => {
    expect(toWire(new Error("bind EADDRINUSE"))).toEqual({
      code: "CTXREC_ERR_INTERNAL",
      reason: "bind EADDRINUSE",
      location: {},
    });
    expect(fromWire({ code: "NOT_A_CODE" as never, reason: "x", location: {} }).code).toBe(
      "CTXREC_ERR_INTERNAL",
    );
  });
});

describe("replica messages", () => {
  it("carries only the paths of a source, and only those given", () => {
    expect(sourcePaths({ modelDir: "/m" })).toEqual({ modelDir: "/m" });
    const full = { modelDir: "/m", indexPath: "/i", storeUrl: "file:/s", itemCountries: undefined };
    expect(sourcePaths(full)).toEqual({ modelDir: "/m", indexPath: "/i", storeUrl: "file:/s" });
  });

  it("tells ours from Node's and prom-client's messages on the same channel", () => {
    expect(isCtxrecMessage({ type: "ctxrec:ready" })).toBe(true);
    expect(isCtxrecMessage({ type: "prom-client:getMetricsReq" })).toBe(false);
    expect(isCtxrecMessage({ cmd: "NODE_CLUSTER", act: "online" })).toBe(false);
    expect(isCtxrecMessage(null)).toBe(false);
    expect(isCtxrecMessage("ctxrec:ready")).toBe(false);
  });
});

describe("restart backoff", () => {
  it("doubles from 100 ms per consecutive early death, capped", () => {
    // 100 · 2^(f-1): 100, 200, 400, 800 … 25,600, then the 30 s cap.
    expect([1, 2, 3, 4, 9].map(restartDelayMs)).toEqual([100, 200, 400, 800, 25_600]);
    expect(restartDelayMs(10)).toBe(MAX_BACKOFF_MS);
    expect(restartDelayMs(1000)).toBe(MAX_BACKOFF_MS);
  });
});
