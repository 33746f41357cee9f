import { afterEach, describe, expect, it } from "vitest";
import { loadDataset } from "../load.ts";
import { type TempFolder, tempFolder } from "../testFiles.ts";
import { expectError } from "./expectError.ts";

let tmp: TempFolder;
afterEach(() => tmp?.remove());

/** A u.item row: id, title, 3 unused fields, then the 19 genre flags (set = indices of genres that are 1). */
function itemRow(id: string, title: string, set: number[]): string {
  const flags = Array.from({ length: 19 }, (_, g) => (set.includes(g) ? "1" : "0"));
  return [id, title, "01-Jan-1995", "", "http://x", ...flags].join("|");
}

// Row 2's title "Café" is written in ISO-8859-1 (é = 0xE9), as in the real u.item.
const U_ITEM = Buffer.from(
  `${itemRow("1", "Toy Story (1995)", [3, 4, 5])}\n${itemRow("2", "Caf\u00e9", [])}\n${itemRow("3", "Nothing", [])}\n`,
  "latin1",
);
const U_USER = "1|24|M|technician|85711\n2|53|F|other|94043\n";
const U_DATA = "1\t2\t3\t881250949\n1\t1\t5\t881250000\n2\t1\t4\t880000000\n";

function folder(over: Record<string, string | Uint8Array> = {}): string {
  tmp = tempFolder();
  const files: Record<string, string | Uint8Array> = {
    "u.item": U_ITEM,
    "u.user": U_USER,
    "u.data": U_DATA,
    ...over,
  };
  for (const [name, content] of Object.entries(files)) if (content !== "<absent>") tmp.write(name, content);
  return tmp.dir;
}

const load = (path: string) => loadDataset({ format: "movielens-100k", path });

describe("MovieLens-100K reader: good input", () => {
  it("turns genre flags into categories with confidence 1/#genres, reads demographics, orders by time", async () => {
    const ds = await load(folder());
    expect(ds.itemVocab.names).toEqual(["<pad>", "1", "2", "3"]);
    // item 1: Animation, Children's, Comedy → 1/3 each; item 2 (the Café row): none; item 3: none
    expect(ds.categoryVocab.names).toEqual(["<pad>", "Animation", "Children's", "Comedy"]);
    expect([...ds.catOffsets]).toEqual([0, 0, 3, 3, 3]);
    expect([...ds.catConf]).toEqual([1 / 3, 1 / 3, 1 / 3].map(Math.fround));
    expect(ds.report.itemsWithoutCategories).toBe(2);
    expect(ds.report.itemsWithoutEvents).toBe(1);
    // user 1: item 1 @881250000 then item 2 @881250949; user 2: item 1
    expect([...ds.offsets]).toEqual([0, 0, 2, 3]);
    expect([...ds.items]).toEqual([1, 2, 1]);
    expect(ds.demographics.occupation.vocab.names).toEqual(["<pad>", "<missing>", "technician", "other"]);
    expect([...ds.demographics.gender.codes]).toEqual([0, 2, 3]);
    expect([...ds.userAge]).toEqual([Number.NaN, 24, 53]);
    expect(ds.demographics.age.vocab.names[ds.demographics.age.codes[2]]).toBe("50-55");
  });

  it("works without u.user", async () => {
    const ds = await load(folder({ "u.user": "<absent>" }));
    expect([...ds.demographics.age.codes]).toEqual([0, 1, 1]);
  });
});

describe("MovieLens-100K reader: bad-input corpus", () => {
  const cases: [string, Record<string, string | Uint8Array>, Parameters<typeof expectError>[1], string][] = [
    [
      "u.item with a wrong field count",
      { "u.item": `${itemRow("1", "A", [1])}\n${itemRow("2", "B", [1]).replace(/\|0$/, "")}\n` },
      "CTXREC_ERR_DATA_BAD_ROW",
      "u.item:2: expected 24 |-separated fields, got 23; the line may be truncated or have a stray separator",
    ],
    [
      "u.item with a bad genre flag",
      { "u.item": `${itemRow("1", "A", [1]).replace(/\|0$/, "|2")}\n` },
      "CTXREC_ERR_DATA_BAD_ROW",
      'u.item:1: Western: expected a genre flag 0 or 1, got "2"',
    ],
    [
      "u.data truncated line",
      { "u.data": "1\t1\t5\t881250000\n1\t2\t3\n" },
      "CTXREC_ERR_DATA_BAD_ROW",
      "u.data:2: expected 4 tab-separated fields, got 3; the line may be truncated or have a stray separator",
    ],
    [
      "u.data rating of the wrong type",
      { "u.data": "1\t1\tfive\t881250000\n" },
      "CTXREC_ERR_DATA_BAD_ROW",
      'u.data:1: rating: expected an integer in [1, 5], got "five"',
    ],
    [
      "u.data negative timestamp",
      { "u.data": "1\t1\t5\t-3\n" },
      "CTXREC_ERR_DATA_BAD_ROW",
      'u.data:1: timestamp: expected an integer in [0, 9007199254740991], got "-3"',
    ],
    [
      "u.data unknown item",
      { "u.data": "1\t1\t5\t881250000\n1\t99\t5\t881250001\n" },
      "CTXREC_ERR_DATA_UNKNOWN_ID",
      'u.data:2: item: item "99" is not in the item catalogue; add it to the items file or remove the event (--skip-invalid skips such events)',
    ],
    [
      "u.user with a bad age",
      { "u.user": "1|old|M|technician|85711\n" },
      "CTXREC_ERR_DATA_BAD_ROW",
      'u.user:1: age: expected an integer in [0, 150], got "old"',
    ],
    [
      "u.user with a wrong field count",
      { "u.user": "1|24|M|technician\n" },
      "CTXREC_ERR_DATA_BAD_ROW",
      "u.user:1: expected 5 |-separated fields, got 4; the line may be truncated or have a stray separator",
    ],
    [
      "u.data invalid UTF-8",
      { "u.data": Buffer.concat([Buffer.from("1\t1\t5\t8812"), Buffer.from([0x80]), Buffer.from("\n")]) },
      "CTXREC_ERR_DATA_ENCODING",
      "u.data:1: invalid UTF-8 byte 0x80 at column 11; save the file as UTF-8",
    ],
    [
      "empty u.data",
      { "u.data": "" },
      "CTXREC_ERR_DATA_EMPTY",
      "u.data: file is empty (no rows); add data rows",
    ],
  ];
  for (const [name, files, code, message] of cases) {
    it(name, async () => {
      await expectError(load(folder(files)), code, message);
    });
  }

  it("missing u.item", async () => {
    const dir = folder({ "u.item": "<absent>" });
    await expectError(
      load(dir),
      "CTXREC_ERR_DATA_MISSING_FILE",
      `${dir}/u.item: u.item not found; check --path (and the file name) or create the file`,
    );
  });
});
