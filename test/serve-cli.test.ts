/**
 * `ctxrec serve` as a process: listens, answers over real HTTP, reloads on SIGHUP, stops cleanly on
 * SIGTERM; refuses to start on an index of another model version.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeServeFixture, type ServeFixture } from "../src/serve/testBundle.ts";
import { generateWorld } from "../src/synth/generate.ts";
import { ctxrec, startServe } from "./cli.ts";

let fx: ServeFixture;
beforeAll(async () => {
  fx = await makeServeFixture(13);
}, 120_000);
afterAll(() => fx?.cleanup());

/** `--model/--index/--store/--port 0` of the fixture, then `extra`. */
function serveArgs(...extra: string[]): string[] {
  return ["--model", fx.modelDir, "--index", fx.hnswPath, "--store", fx.storeUrl, "--port", "0", ...extra];
}

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("condition not met within 10 s");
}

describe("ctxrec serve", () => {
  it("answers over HTTP, reloads on SIGHUP and exits 0 on SIGTERM", async () => {
    const { child, url } = await startServe(
      serveArgs("--log-level", "warn", "--format", "jsonl", "--path", path.join(fx.root, "world")),
    );
    try {
      const r = await fetch(`${url}/v1/candidates`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ userId: fx.ds.userVocab.names[1], k: 3, filter: { country: "US" } }),
      });
      expect(r.status).toBe(200);
      const a = (await r.json()) as { candidates: unknown[]; modelVersion: string; coldStart: boolean };
      expect(a).toMatchObject({ modelVersion: fx.version, coldStart: false });
      expect(a.candidates).toHaveLength(3);
      const health = (await (await fetch(`${url}/healthz`)).json()) as { index: { kind: string } };
      expect(health.index.kind).toBe("hnsw");
      child.kill("SIGHUP");
      await waitFor(async () =>
        /ctxrec_reloads_total\{result="ok"\} 1/.test(await (await fetch(`${url}/metrics`)).text()),
      );
      const after = (await (await fetch(`${url}/healthz`)).json()) as {
        generation: number;
        modelVersion: string;
      };
      expect(after).toMatchObject({ generation: 1, modelVersion: fx.version });
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
  });

  it("refuses data flags whose items are not the model's (the country override must fit the catalogue)", async () => {
    const other = path.join(fx.root, "other-world");
    await generateWorld({ preset: "tiny", seed: 13, outDir: other, overrides: { items: 150 } });
    const r = ctxrec(["serve", ...serveArgs("--format", "jsonl", "--path", other)]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/CTXREC_ERR_DATA_UNKNOWN_ID/);
  });

  it("refuses to start with an index that is not an index file, naming it", () => {
    const r = ctxrec([
      "serve",
      "--model",
      fx.modelDir,
      "--index",
      path.join(fx.root, "no-such.ctxidx"),
      "--store",
      fx.storeUrl,
      "--port",
      "0",
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no-such\.ctxidx/);
  });
});
