import { afterEach, describe, expect, it } from "vitest";
import { loadDataset } from "../load.ts";
import { type TempFolder, tempFolder } from "../testFiles.ts";
import { expectError } from "./expectError.ts";

let tmp: TempFolder;
afterEach(() => tmp?.remove());

const SEQ = "1 10 11 12\n2 11 10\n3 12 12 13\n";
const ATTRS = JSON.stringify({ "10": [1, 2], "11": [3], "12": [2, 2, 4], "13": [] });

/** Writes the sequence file and (unless attrs is null) the attributes file. */
function files(
  seq: string | Uint8Array = SEQ,
  attrs: string | Uint8Array | null = ATTRS,
): {
  path: string;
  attributes?: string;
} {
  tmp = tempFolder();
  const path = tmp.write("X.txt", seq);
  return attrs === null ? { path } : { path, attributes: tmp.write("X_item2attributes.json", attrs) };
}

const load = (f: { path: string; attributes?: string }, skipInvalid = false) =>
  loadDataset({ format: "s3rec", ...f, skipInvalid });

describe("S3-Rec reader: good input", () => {
  it("gives synthetic timestamps 0..n-1 and attributes as equal-confidence categories", async () => {
    const ds = await load(files());
    expect(ds.userVocab.names).toEqual(["<pad>", "1", "2", "3"]);
    expect(ds.itemVocab.names).toEqual(["<pad>", "10", "11", "12", "13"]);
    expect([...ds.offsets]).toEqual([0, 0, 3, 5, 8]);
    expect([...ds.items]).toEqual([1, 2, 3, 2, 1, 3, 3, 4]);
    expect([...ds.timestamps]).toEqual([0, 1, 2, 0, 1, 0, 1, 2]);
    // item 10: {1, 2} → 1/2 each; 11: {3} → 1; 12: [2, 2, 4] → {2, 4} → 1/2 each (duplicate merged); 13: none
    expect(ds.categoryVocab.names).toEqual(["<pad>", "1", "2", "3", "4"]);
    expect([...ds.catOffsets]).toEqual([0, 0, 2, 3, 5, 5]);
    expect([...ds.catIds]).toEqual([1, 2, 3, 2, 4]);
    expect([...ds.catConf]).toEqual([0.5, 0.5, 1, 0.5, 0.5]);
    expect(ds.report.duplicateAttributes).toBe(1);
    expect(ds.report.itemsWithoutCategories).toBe(1);
  });

  it("works without an attributes file (no categories), and repeated items are not duplicates", async () => {
    const ds = await load(files(SEQ, null));
    expect(ds.catIds.length).toBe(0);
    expect(ds.report.duplicateEvents).toBe(0); // user 3 has item 12 twice at positions 0 and 1
    expect(ds.items.length).toBe(8);
  });

  it("with skipInvalid, skips a bad line and an unknown attribute key", async () => {
    const ds = await load(files(`${SEQ}4\n`, JSON.stringify({ "10": [1], "99": [2] })), true);
    expect(ds.report.invalidRows).toBe(2);
    expect(ds.report.invalidReasons).toEqual([
      "X.txt:4: expected 'user item [item …]' (at least 2 fields), got 1; a user needs at least one item",
      'X_item2attributes.json: ["99"]: item "99" does not appear in any sequence; remove it from the attributes file or check that the files belong together',
    ]);
    expect(ds.report.unknownItemEvents).toBe(0);
  });
});

describe("S3-Rec reader: bad-input corpus", () => {
  const cases: [string, () => ReturnType<typeof files>, Parameters<typeof expectError>[1], string][] = [
    [
      "a line with a user but no item (wrong field count)",
      () => files("1 10 11\n2\n"),
      "CTXREC_ERR_DATA_BAD_ROW",
      "X.txt:2: expected 'user item [item …]' (at least 2 fields), got 1; a user needs at least one item",
    ],
    [
      "the same user on two lines",
      () => files("1 10\n2 11\n1 12\n"),
      "CTXREC_ERR_DATA_BAD_ROW",
      'X.txt:3: user: user "1" already has a sequence at line 1; merge the two lines in time order',
    ],
    [
      "invalid UTF-8 in the sequence file",
      () => files(Buffer.concat([Buffer.from("1 10\n2 1"), Buffer.from([0xfe]), Buffer.from("\n")])),
      "CTXREC_ERR_DATA_ENCODING",
      "X.txt:2: invalid UTF-8 byte 0xfe at column 4; save the file as UTF-8",
    ],
    [
      "empty sequence file",
      () => files(""),
      "CTXREC_ERR_DATA_EMPTY",
      "X.txt: file is empty (no rows); add data rows",
    ],
    [
      "attribute key for an unknown item",
      () => files(SEQ, JSON.stringify({ "10": [1], "77": [2] })),
      "CTXREC_ERR_DATA_UNKNOWN_ID",
      'X_item2attributes.json: ["77"]: item "77" does not appear in any sequence; remove it from the attributes file or check that the files belong together',
    ],
    [
      "attribute list of the wrong type",
      () => files(SEQ, JSON.stringify({ "10": "1,2" })),
      "CTXREC_ERR_DATA_BAD_ROW",
      'X_item2attributes.json: ["10"]: expected an array of attribute ids, got "1,2"',
    ],
    [
      "negative attribute id",
      () => files(SEQ, JSON.stringify({ "10": [1, -2] })),
      "CTXREC_ERR_DATA_BAD_ROW",
      'X_item2attributes.json: ["10"][1]: expected a non-negative integer or a non-empty string attribute id, got -2',
    ],
    [
      "truncated attributes file",
      () => files(SEQ, '{"10": [1, 2], "11": [3'),
      "CTXREC_ERR_DATA_BAD_ROW",
      `X_item2attributes.json:1: line is not valid JSON (truncated or malformed): '{"10": [1, 2], "11": [3'; write one complete JSON object per line`,
    ],
    [
      "attributes file that is not an object",
      () => files(SEQ, "[1, 2]"),
      "CTXREC_ERR_DATA_BAD_ROW",
      "X_item2attributes.json: expected one JSON object mapping item ids to attribute-id arrays",
    ],
    [
      "invalid UTF-8 in the attributes file",
      () => files(SEQ, Buffer.from([0x7b, 0xff, 0x7d])),
      "CTXREC_ERR_DATA_ENCODING",
      "X_item2attributes.json: file is not valid UTF-8; save it as UTF-8",
    ],
    [
      "empty attributes file",
      () => files(SEQ, ""),
      "CTXREC_ERR_DATA_EMPTY",
      'X_item2attributes.json: file is empty; expected a JSON object {"item": [attribute, …]}',
    ],
  ];
  for (const [name, make, code, message] of cases) {
    it(name, async () => {
      await expectError(load(make()), code, message);
    });
  }

  it("missing attributes file", async () => {
    const f = files();
    await expectError(
      load({ path: f.path, attributes: `${tmp.dir}/none.json` }),
      "CTXREC_ERR_DATA_MISSING_FILE",
      `${tmp.dir}/none.json: none.json not found; check --path (and the file name) or create the file`,
    );
  });
});
