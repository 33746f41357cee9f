import { describe, expect, it } from "vitest";
import { CtxrecError } from "../core/errors.ts";
import { createStoreCounters } from "./featureStore.ts";
import { decodeHeader, decodeRecord, encodeRecord, MAX_HEADER, vectorOffset } from "./record.ts";

const ctx = (over = {}) => ({
  where: "t",
  user: "u",
  modelVersion: "v1",
  dim: 3,
  counters: createStoreCounters(),
  ...over,
});

describe("record codec", () => {
  it("lays out magic, d, computedAt, version, padding, vector", () => {
    const buf = encodeRecord({
      user: "u",
      vector: new Float32Array([1, -0, 0.5]),
      modelVersion: "v1",
      computedAt: 42.25,
    });
    // header 18 bytes + "v1" (2) = 20, already a multiple of 4 → vector at 20; 20 + 3×4 = 32 bytes.
    expect(vectorOffset(2)).toBe(20);
    expect(buf.length).toBe(32);
    expect(buf.toString("latin1", 0, 4)).toBe("CXS1");
    expect(buf.readUInt32LE(4)).toBe(3);
    expect(buf.readDoubleLE(8)).toBe(42.25);
    expect(buf.readUInt16LE(16)).toBe(2);
    expect(buf.toString("utf8", 18, 20)).toBe("v1");
    expect(buf.readFloatLE(20)).toBe(1);
    expect(Object.is(buf.readFloatLE(24), -0)).toBe(true);
    // "v123" → 18 + 4 = 22 → padded to 24; the longest (128-char) version → 146 → 148.
    expect(vectorOffset(4)).toBe(24);
    expect(MAX_HEADER).toBe(148);
  });

  it("decodes from an unaligned buffer slice", () => {
    const rec = encodeRecord({
      user: "u",
      vector: new Float32Array([1, 2, 3]),
      modelVersion: "v1",
      computedAt: 7,
    });
    const shifted = Buffer.alloc(rec.length + 1);
    rec.copy(shifted, 1);
    const e = decodeRecord(shifted.subarray(1), ctx());
    expect([...e.vector]).toEqual([1, 2, 3]);
    expect(e.computedAt).toBe(7);
  });

  it("refuses bad magic, a wrong d, extra or missing bytes, and counts them as corrupt", () => {
    const rec = encodeRecord({
      user: "u",
      vector: new Float32Array([1, 2, 3]),
      modelVersion: "v1",
      computedAt: 7,
    });
    const c = ctx();
    const bad = [Buffer.from("junk"), Buffer.concat([rec, Buffer.alloc(4)]), rec.subarray(0, rec.length - 1)];
    for (const b of bad) {
      expect(() => decodeRecord(b, c)).toThrow(CtxrecError);
    }
    expect(() => decodeRecord(rec, ctx({ dim: 4 }))).toThrow(/declares d=3/);
    expect(c.counters.corruptRecords).toBe(3);
    // A header alone is fine for decodeHeader without `full` (what computedAtMany fetches).
    expect(decodeHeader(rec.subarray(0, 20), c, false).computedAt).toBe(7);
  });
});
