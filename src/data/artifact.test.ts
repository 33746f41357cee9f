import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  ARTIFACT_VERSION,
  decodeDataset,
  encodeDataset,
  loadDatasetArtifact,
  saveDataset,
} from "./artifact.ts";
import { DatasetBuilder } from "./builder.ts";
import type { CompiledDataset } from "./dataset.ts";
import { loadDataset } from "./load.ts";
import { tempFolder } from "./testFiles.ts";

const tmp = tempFolder();
afterAll(() => tmp.remove());

function sample(): CompiledDataset {
  const b = new DatasetBuilder();
  b.addItem(
    { id: "i1", categories: [{ id: "c1", confidence: 0.25 }], advertiser: "a", bid: 0.5, countries: ["US"] },
    {},
  );
  b.addItem({ id: "i2", categories: [] }, {});
  b.closeCatalogue();
  b.addUser({ id: "u1", age: 19, country: "DE", gender: "F", occupation: "x" }, { line: 1 });
  b.addEvent("u1", "i1", 1.5, "checkout", {});
  b.addEvent("u1", "i2", 0.5, undefined, {});
  b.addEvent("u2", "i2", 7, undefined, {});
  return b.finish({ format: "test", path: "mem" });
}

/** Every field as plain JSON-able values, for deep comparison (NaN-safe via Array.from). */
function plain(ds: CompiledDataset): unknown {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ds)) {
    if (ArrayBuffer.isView(v)) out[k] = Array.from(v as Float64Array);
    else if (k.endsWith("Vocab")) out[k] = (v as { names: string[] }).names;
    else if (k === "demographics")
      out[k] = Object.fromEntries(
        Object.entries(ds.demographics).map(([f, c]) => [
          f,
          { names: c.vocab.names, codes: Array.from(c.codes) },
        ]),
      );
    else out[k] = v;
  }
  return out;
}

describe("dataset artifact", () => {
  it("round-trips every field exactly (file written atomically, no temp file left)", () => {
    const ds = sample();
    const path = join(tmp.dir, "a.ctxds");
    saveDataset(ds, path);
    const back = loadDatasetArtifact(path);
    expect(plain(back)).toEqual(plain(ds));
    expect(back.itemVocab.get("i2")).toBe(2);
    expect(back.timestamps).toBeInstanceOf(Float64Array);
    expect(readdirSync(tmp.dir).filter((f) => f.includes(".tmp-"))).toEqual([]);
  });

  it("loads through loadDataset({format: 'artifact'})", async () => {
    const path = join(tmp.dir, "b.ctxds");
    saveDataset(sample(), path);
    const ds = await loadDataset({ format: "artifact", path });
    expect([...ds.items]).toEqual([2, 1, 2]);
  });

  it("detects a flipped payload byte as CORRUPT", () => {
    const bytes = encodeDataset(sample());
    for (const at of [60, bytes.length - 1]) {
      const bad = Buffer.from(bytes);
      bad[at] ^= 0x01;
      expect(() => decodeDataset(bad, "x.ctxds")).toThrow(
        /^x\.ctxds: content hash mismatch \(stored [0-9a-f]{12}…, computed [0-9a-f]{12}…\); rebuild the artifact from the source data$/,
      );
    }
  });

  it("rejects another format version as VERSION, bad magic and truncation as CORRUPT", () => {
    const bytes = encodeDataset(sample());
    const other = Buffer.from(bytes);
    other.writeUInt32LE(ARTIFACT_VERSION + 1, 8);
    expect(() => decodeDataset(other, "x.ctxds")).toThrow(
      `x.ctxds: dataset artifact format version ${ARTIFACT_VERSION + 1}, this ctxrec reads version ${ARTIFACT_VERSION}; rebuild the artifact from the source data with this version`,
    );
    try {
      decodeDataset(other, "x.ctxds");
    } catch (e) {
      expect((e as { code: string }).code).toBe("CTXREC_ERR_ARTIFACT_VERSION");
    }
    const magic = Buffer.from(bytes);
    magic[0] = 0x58;
    expect(() => decodeDataset(magic, "x.ctxds")).toThrow(
      'x.ctxds: not a ctxrec dataset artifact (magic "CTXRECDS" missing); rebuild the artifact from the source data',
    );
    const path = join(tmp.dir, "trunc.ctxds");
    writeFileSync(path, bytes.subarray(0, bytes.length - 8));
    expect(() => loadDatasetArtifact(path)).toThrow(/content hash mismatch/);
  });

  it("reads a buffer whose sections are not 4/8-byte aligned in memory (copies them)", () => {
    const bytes = encodeDataset(sample());
    const shifted = Buffer.alloc(bytes.length + 1);
    bytes.copy(shifted, 1);
    expect(plain(decodeDataset(shifted.subarray(1)))).toEqual(plain(sample()));
  });

  it("names a missing artifact file", () => {
    expect(() => loadDatasetArtifact(join(tmp.dir, "none.ctxds"))).toThrow(
      `${join(tmp.dir, "none.ctxds")}: dataset artifact not found; build it first (saveDataset / ctxrec data compile)`,
    );
  });
});
