import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openFeatureStore } from "../src/store/open.ts";
import { ctxrec } from "./cli.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-store-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("ctxrec store", () => {
  it("lists versions, activates one atomically, and refuses an unknown version", async () => {
    const url = `file:${path.join(tmp, "state.db")}`;
    for (const [modelVersion, dim] of [
      ["m-old", 4],
      ["m-new", 8],
    ] as const) {
      const s = await openFeatureStore(url, { modelVersion, dim, mode: "write" });
      await s.put({ user: "u", vector: new Float32Array(dim), modelVersion, computedAt: 1 });
      await s.close();
    }
    let r = ctxrec(["store", "versions", "--store", url, "--json"]);
    expect(r.status).toBe(0);
    expect(
      JSON.parse(r.stdout).map((v: { modelVersion: string; dim: number; active: boolean }) => [
        v.modelVersion,
        v.dim,
        v.active,
      ]),
    ).toEqual([
      ["m-old", 4, false],
      ["m-new", 8, false],
    ]);

    r = ctxrec(["store", "activate", "--store", url, "--model-version", "m-new"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("active model version: m-new");
    r = ctxrec(["store", "versions", "--store", url]);
    expect(r.stdout).toMatch(/^\* m-new\s+8 /m);
    expect(r.stdout).toMatch(/^ {2}m-old\s+4 /m);

    r = ctxrec(["store", "activate", "--store", url, "--model-version", "m-missing"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/CTXREC_ERR_ARTIFACT_VERSION.*m-missing.*present: m-old, m-new/);
  });

  it("names a bad store URL and the accepted forms", () => {
    const r = ctxrec(["store", "versions", "--store", "mysql://x"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/CTXREC_ERR_ARG.*"mysql:\/\/x".*file:PATH/);
  });
});
