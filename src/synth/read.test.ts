import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CtxrecError } from "../core/errors.ts";
import { generateWorld } from "./generate.ts";
import { readWorld, readWorldEvents } from "./read.ts";

const root = mkdtempSync(path.join(os.tmpdir(), "ctxrec-synth-read-"));
const dir = path.join(root, "world");
beforeAll(async () => {
  await generateWorld({ preset: "tiny", seed: 8, outDir: dir, overrides: { users: 40 } });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function errorOf(p: Promise<unknown>): Promise<CtxrecError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CtxrecError) return e;
    throw e;
  }
  throw new Error("expected a CtxrecError");
}

describe("readWorldEvents", () => {
  it("streams every event in file order", async () => {
    let n = 0;
    let first: unknown;
    for await (const e of readWorldEvents(dir)) {
      if (n === 0) first = e;
      n++;
    }
    const manifest = JSON.parse(readFileSync(path.join(dir, "world.json"), "utf8"));
    expect(n).toBe(manifest.counts.events);
    expect(first).toEqual(JSON.parse(readFileSync(path.join(dir, "events.jsonl"), "utf8").split("\n")[0]));
  });
});

describe("readWorld errors name the file, line and field", () => {
  it("reports a truncated line", async () => {
    const copy = path.join(root, "truncated");
    await generateWorld({ preset: "tiny", seed: 8, outDir: copy, overrides: { users: 40 } });
    appendFileSync(path.join(copy, "items.jsonl"), '{"id":"i999","categ');
    const err = await errorOf(readWorld(copy));
    expect(err.code).toBe("CTXREC_ERR_DATA_BAD_ROW");
    // tiny has 200 items, so the broken line is line 201.
    expect(err.message).toBe(`${path.join(copy, "items.jsonl")}:201: not valid JSON: {"id":"i999","categ`);
  });

  it("reports a confidence outside (0, 1]", async () => {
    const copy = path.join(root, "badconf");
    await generateWorld({ preset: "tiny", seed: 8, outDir: copy, overrides: { users: 40 } });
    const file = path.join(copy, "items.jsonl");
    const lines = readFileSync(file, "utf8").split("\n");
    lines[2] = '{"id":"i2","categories":[{"id":"c2","confidence":0}],"advertiser":"a1","bid":1}';
    writeFileSync(file, lines.join("\n"));
    const err = await errorOf(readWorld(copy));
    expect(err.code).toBe("CTXREC_ERR_DATA_BAD_ROW");
    expect(err.message).toMatch(
      new RegExp(`^${file.replaceAll("/", "\\/")}:3: categories\\.0\\.confidence: `),
    );
  });

  it("reports a missing file and a foreign format version", async () => {
    const copy = path.join(root, "nofile");
    await generateWorld({ preset: "tiny", seed: 8, outDir: copy, overrides: { users: 40 } });
    rmSync(path.join(copy, "truth", "users.jsonl"));
    const missing = await errorOf(readWorld(copy));
    expect(missing.code).toBe("CTXREC_ERR_DATA_MISSING_FILE");
    expect(missing.message).toContain(path.join(copy, "truth", "users.jsonl"));

    const manifest = path.join(copy, "world.json");
    writeFileSync(
      manifest,
      readFileSync(manifest, "utf8").replace('"formatVersion": 1', '"formatVersion": 2'),
    );
    const version = await errorOf(readWorld(copy));
    expect(version.code).toBe("CTXREC_ERR_ARTIFACT_VERSION");
    expect(version.message).toContain(
      "world.json: formatVersion: formatVersion 2 is not supported (expected 1)",
    );
  });

  it("reports a folder that is not a world", async () => {
    const err = await errorOf(readWorld(path.join(root, "nowhere")));
    expect(err.code).toBe("CTXREC_ERR_DATA_MISSING_FILE");
    expect(err.message).toContain("world.json: missing; is this a world folder written by `ctxrec synth`?");
  });
});
