import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ExactIndex } from "./exact.ts";
import { IndexHandle } from "./handle.ts";

// v1 scores item "a" highest for the query [1, 0], v2 scores "b" highest: which one answered
// tells which version served the request.
const v1 = ExactIndex.build(
  { vectors: new Float32Array([1, 0, 0, 1]), ids: ["a", "b"], dim: 2 },
  { modelVersion: "m1" },
);
const v2 = ExactIndex.build(
  { vectors: new Float32Array([0, 1, 1, 0]), ids: ["a", "b"], dim: 2 },
  { modelVersion: "m2" },
);
const query = new Float32Array([1, 0]);

describe("IndexHandle", () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-handle-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("lets an in-flight request finish on the old version while new ones get the new one", async () => {
    const handle = new IndexHandle(v1, "filters-1");
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const inFlight = handle.use(async (v) => {
      await gate; // e.g. the feature-store lookup
      return { top: v.index.search(query, 1).ids[0], extras: v.extras };
    });
    const old = handle.swap(v2, "filters-2");
    expect(old.generation).toBe(0);
    expect(handle.current.generation).toBe(1);
    expect(handle.inFlight(old)).toBe(1);
    const after = await handle.use((v) => v.index.search(query, 1).ids[0]);
    expect(after).toBe("b");
    let drained = false;
    const done = handle.drained(old).then(() => {
      drained = true;
    });
    await Promise.resolve();
    expect(drained).toBe(false);
    release();
    expect(await inFlight).toEqual({ top: "a", extras: "filters-1" });
    await done;
    expect(drained).toBe(true);
  });

  it("keeps serving the current version when the new artifact is refused", () => {
    const file = path.join(tmp, "v2.ctxidx");
    v2.save(file);
    const handle = new IndexHandle(v1, undefined);
    expect(() => handle.loadAndSwap(file, { modelVersion: "m3" }, () => undefined)).toThrow(
      expect.objectContaining({ code: "CTXREC_ERR_ARTIFACT_VERSION" }),
    );
    expect(handle.current.index).toBe(v1);
    const old = handle.loadAndSwap(file, { modelVersion: "m2" }, () => undefined);
    expect(old.index).toBe(v1);
    expect(handle.current.index.manifest.modelVersion).toBe("m2");
    expect(handle.current.index.search(query, 1).ids).toEqual(["b"]);
  });

  it("refuses to wait for the current version to drain", () => {
    const handle = new IndexHandle(v1, undefined);
    expect(() => handle.drained(handle.current)).toThrow(/never drains/);
  });
});
