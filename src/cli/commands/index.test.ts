import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ctxrecInProcess } from "../../../test/cli.ts";
import { loadVectorIndex } from "../../index/load.ts";
import { registerIndexCommand } from "./index.ts";

const run = (args: string[]) => ctxrecInProcess(registerIndexCommand, args);

describe("ctxrec index", () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-index-cli-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("builds from a float32 file and an ids file, and prints the manifest", async () => {
    // Items a=[1,0], b=[0,2], c=[1,1]; query [0,1] scores [0, 2, 1] ⇒ top-2 b, c.
    writeFileSync(path.join(tmp, "v.f32"), Buffer.from(new Float32Array([1, 0, 0, 2, 1, 1]).buffer));
    writeFileSync(path.join(tmp, "ids.txt"), "a\nb\nc\n");
    const file = path.join(tmp, "x.ctxidx");
    const summary = await run([
      "index",
      "build",
      "--vectors",
      path.join(tmp, "v.f32"),
      "--ids",
      path.join(tmp, "ids.txt"),
      "--dim",
      "2",
      "--model-version",
      "m1",
      "--out",
      file,
      "--backend",
      "hnswlib",
    ]);
    expect(summary).toMatch(/^hnsw index: 3 items × d=2, model m1/);
    const index = loadVectorIndex(file, { modelVersion: "m1" });
    expect(index.search(new Float32Array([0, 1]), 2).ids).toEqual(["b", "c"]);
    const info = JSON.parse(await run(["index", "info", file]));
    expect(info).toMatchObject({
      kind: "hnsw",
      modelVersion: "m1",
      count: 3,
      dim: 2,
      params: { backend: "hnswlib" },
    });
  });

  it("builds a synthetic exact index", async () => {
    const file = path.join(tmp, "s.ctxidx");
    await run([
      "index",
      "build",
      "--synthetic",
      "200",
      "--dim",
      "8",
      "--model-version",
      "demo",
      "--out",
      file,
      "--kind",
      "exact",
    ]);
    expect(loadVectorIndex(file, { modelVersion: "demo" }).size).toBe(200);
  });

  it("says which file disagrees with --dim or the id count", async () => {
    writeFileSync(path.join(tmp, "odd.f32"), Buffer.alloc(12));
    const args = [
      "index",
      "build",
      "--ids",
      path.join(tmp, "ids.txt"),
      "--model-version",
      "m",
      "--out",
      path.join(tmp, "o"),
    ];
    await expect(run([...args, "--vectors", path.join(tmp, "odd.f32"), "--dim", "2"])).rejects.toThrow(
      /odd\.f32: 12 bytes is not a whole number of float32 rows of d = 2/,
    );
    await expect(run([...args, "--vectors", path.join(tmp, "odd.f32"), "--dim", "3"])).rejects.toThrow(
      /ids\.txt: 3 ids for 1 vectors/,
    );
  });
});
