import { afterAll, describe, expect, it } from "vitest";
import { CtxrecError } from "../core/errors.ts";
import { type Line, readLines } from "./lines.ts";
import { tempFolder } from "./testFiles.ts";

const tmp = tempFolder();
afterAll(() => tmp.remove());

async function all(path: string, encoding?: "utf-8" | "latin1"): Promise<Line[]> {
  const out: Line[] = [];
  for await (const batch of readLines(path, { encoding })) out.push(...batch);
  return out;
}

async function failure(path: string): Promise<CtxrecError> {
  try {
    await all(path);
  } catch (err) {
    if (err instanceof CtxrecError) return err;
    throw err;
  }
  throw new Error("expected a CtxrecError");
}

describe("readLines", () => {
  it("numbers lines from 1, strips \\r\\n and a BOM, keeps blank lines, handles a missing final newline", async () => {
    const p = tmp.write("a.txt", "\uFEFFone\r\ntwo\n\nthree");
    expect(await all(p)).toEqual([
      { text: "one", line: 1 },
      { text: "two", line: 2 },
      { text: "", line: 3 },
      { text: "three", line: 4 },
    ]);
  });

  it("reads gzip files", async () => {
    const p = tmp.write("b.txt.gz", "x\ny\n");
    expect((await all(p)).map((l) => l.text)).toEqual(["x", "y"]);
  });

  it("decodes ISO-8859-1 when asked (0xE9 = é)", async () => {
    const p = tmp.write("c.txt", Buffer.from([0x43, 0x61, 0x66, 0xe9, 0x0a]));
    expect((await all(p, "latin1"))[0].text).toBe("Café");
  });

  it("keeps multi-byte characters that straddle read chunks (a 2 MB file)", async () => {
    const line = "é".repeat(1000); // 2,000 bytes a line, 1,100 lines > one 1 MB chunk
    const p = tmp.write("big.txt", `${Array(1100).fill(line).join("\n")}\n`);
    const lines = await all(p);
    expect(lines.length).toBe(1100);
    expect(lines.every((l) => l.text === line)).toBe(true);
    expect(lines[1099].line).toBe(1100);
  });

  it("names the line and column of invalid UTF-8", async () => {
    const p = tmp.write(
      "bad.txt",
      Buffer.concat([Buffer.from("ok\nab"), Buffer.from([0xff]), Buffer.from("c\n")]),
    );
    const err = await failure(p);
    expect(err.code).toBe("CTXREC_ERR_DATA_ENCODING");
    expect(err.message).toBe("bad.txt:2: invalid UTF-8 byte 0xff at column 3; save the file as UTF-8");
  });

  it("reports an empty file (or one with only blank lines) as EMPTY", async () => {
    for (const [name, text] of [
      ["empty.txt", ""],
      ["blank.txt", "\n  \n"],
    ]) {
      const err = await failure(tmp.write(name, text));
      expect(err.code).toBe("CTXREC_ERR_DATA_EMPTY");
      expect(err.message).toBe(`${name}: file is empty (no rows); add data rows`);
    }
  });

  it("reports a corrupt gzip stream as ENCODING", async () => {
    const p = tmp.write("notgz.txt", "plain text\n");
    const gzPath = `${p}.gz`;
    const { renameSync } = await import("node:fs");
    renameSync(p, gzPath);
    const err = await failure(gzPath);
    expect(err.code).toBe("CTXREC_ERR_DATA_ENCODING");
    expect(err.message).toBe(
      "notgz.txt.gz:1: not a valid gzip stream (Z_DATA_ERROR); re-compress the file with gzip or drop the .gz suffix",
    );
  });

  it("reports a missing file with its path", async () => {
    const err = await failure(`${tmp.dir}/nope.txt`);
    expect(err.code).toBe("CTXREC_ERR_DATA_MISSING_FILE");
    expect(err.message).toBe(
      `${tmp.dir}/nope.txt: nope.txt not found; check --path (and the file name) or create the file`,
    );
  });
});
