import { describe, expect, it } from "vitest";
import { CtxrecError } from "../core/errors.ts";
import { parseSinceTime } from "./users.ts";

describe("parseSinceTime", () => {
  it("reads Unix seconds and ISO 8601 times", () => {
    expect(parseSinceTime("1714521600")).toBe(1714521600);
    expect(parseSinceTime("12.5")).toBe(12.5);
    // 2024-05-01T00:00:00Z = 19844 days × 86400 s = 1714521600.
    expect(parseSinceTime("2024-05-01")).toBe(1714521600);
    expect(parseSinceTime("2024-05-01T06:00:00Z")).toBe(1714521600 + 6 * 3600);
    expect(parseSinceTime("2024-05-01T08:00:00+02:00")).toBe(1714521600 + 6 * 3600);
  });

  it("refuses anything else, naming the flag", () => {
    for (const bad of ["yesterday", "5/1/2024", ""]) {
      expect(() => parseSinceTime(bad)).toThrow(CtxrecError);
    }
    expect(() => parseSinceTime("soon")).toThrow(/--since.*'soon' is neither an ISO 8601 time/);
  });
});
