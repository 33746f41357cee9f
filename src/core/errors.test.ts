import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CtxrecError, ERROR_CODES, requireFinite, wrapError } from "./errors.ts";

describe("error registry", () => {
  it("documents every code in docs/errors.md with its status and summary", () => {
    const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
    const rows = new Map<string, string>();
    for (const m of doc.matchAll(/^\|\s*`(CTXREC_ERR_[A-Z_]+)`\s*\|\s*(\d+)\s*\|\s*(.+?)\s*\|$/gm))
      rows.set(m[1], `${m[2]} ${m[3]}`);
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      expect(rows.get(code), code).toBe(`${spec.status} ${spec.summary}`);
    }
    expect([...rows.keys()].sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it("prefixes the message with the location", () => {
    const e = new CtxrecError("CTXREC_ERR_DATA_BAD_ROW", "timestamp: expected a number, got 'x'", {
      file: "events.jsonl",
      line: 7,
    });
    expect(e.message).toBe("events.jsonl:7: timestamp: expected a number, got 'x'");
    expect(e.status).toBe(400);
  });

  it("wraps a library error with the fix and keeps the cause", () => {
    const cause = new Error("ECONNREFUSED");
    const e = wrapError("CTXREC_ERR_STORE", cause, "is redis-server running?");
    expect(e.message).toBe("ECONNREFUSED (is redis-server running?)");
    expect(e.cause).toBe(cause);
  });

  it("names the first non-finite value", () => {
    expect(() => requireFinite([1, 2, Number.NaN], "weights")).toThrow(
      "parameter weights: value NaN at index 2",
    );
  });
});
