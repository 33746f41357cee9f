import { afterEach, describe, expect, it } from "vitest";
import { loadDataset } from "../load.ts";
import { type TempFolder, tempFolder } from "../testFiles.ts";
import { expectError } from "./expectError.ts";

let tmp: TempFolder;
afterEach(() => tmp?.remove());

const ITEMS = [
  "id,categories,advertiser,bid,countries",
  'i1,"shoes:0.7|run, trail:0.3",nike,1.5,US|FR', // a quoted category id holding a comma
  "i2,,,,",
  "i3,ns:x:1,,,", // category id "ns:x" (the confidence follows the last ':')
].join("\n");
const USERS = ["age,id,gender", "41,u1,F", ",u2,"].join("\n"); // columns in any order; empty = missing
const EVENTS = [
  "user,item,timestamp,type",
  "u1,i2,1700000100,checkout",
  "u1,i1,2023-11-14T22:13:20Z,", // ISO = 1700000000; empty type = none
  "u2,i3,5,page_visit",
].join("\n");

function folder(over: Record<string, string | Uint8Array> = {}): string {
  tmp = tempFolder();
  const files: Record<string, string | Uint8Array> = {
    "items.csv": ITEMS,
    "users.csv": USERS,
    "events.csv": EVENTS,
    ...over,
  };
  for (const [name, content] of Object.entries(files)) if (content !== "<absent>") tmp.write(name, content);
  return tmp.dir;
}

const load = (path: string, skipInvalid = false) => loadDataset({ format: "csv", path, skipInvalid });

describe("CSV reader: good input", () => {
  it("reads quoted cells, category lists, empty cells as missing, ISO timestamps", async () => {
    const ds = await load(folder());
    expect(ds.categoryVocab.names).toEqual(["<pad>", "shoes", "run, trail", "ns:x"]);
    expect([...ds.catOffsets]).toEqual([0, 0, 2, 2, 3]);
    expect([...ds.catConf]).toEqual([Math.fround(0.7), Math.fround(0.3), 1]);
    expect([...ds.itemBid]).toEqual([Number.NaN, 1.5, Number.NaN, Number.NaN]);
    expect(ds.demographics.country.vocab.names).toEqual(["<pad>", "<missing>", "US", "FR"]);
    expect([...ds.userAge]).toEqual([Number.NaN, 41, Number.NaN]);
    expect([...ds.offsets]).toEqual([0, 0, 2, 3]);
    expect([...ds.items]).toEqual([1, 2, 3]);
    expect([...ds.timestamps]).toEqual([1_700_000_000, 1_700_000_100, 5]);
    expect(ds.typeVocab.names).toEqual(["<pad>", "<missing>", "checkout", "page_visit"]);
  });

  it("reads .gz, and skips malformed rows with --skip-invalid", async () => {
    const events = `${EVENTS}\nu1,i1\nu2,"i1,7,x\n`;
    const ds = await load(
      folder({ "users.csv": "<absent>", "events.csv": "<absent>", "events.csv.gz": events }),
      true,
    );
    expect(ds.items.length).toBe(3);
    expect(ds.report.invalidRows).toBe(2);
    expect(ds.report.invalidReasons[0]).toBe(
      "events.csv.gz:5: expected 4 fields (as in the header), got 2; check for a missing or extra comma",
    );
    expect(ds.report.invalidReasons[1]).toMatch(/^events\.csv\.gz:6: malformed CSV \(Quote Not Closed/);
  });
});

describe("CSV reader: bad-input corpus", () => {
  const cases: [string, Record<string, string | Uint8Array>, Parameters<typeof expectError>[1], string][] = [
    [
      "malformed quoting",
      { "events.csv": 'user,item,timestamp\nu1,"i1"x,5\n' },
      "CTXREC_ERR_DATA_BAD_ROW",
      'events.csv:2: malformed CSV (Invalid Closing Quote: got "x" at line 2 instead of delimiter, record delimiter, trimable character (if activated) or comment); wrap fields holding commas, quotes or newlines in double quotes and double any inner quote',
    ],
    [
      "wrong field count (truncated row)",
      { "events.csv": "user,item,timestamp\nu1,i1,5\nu1,i2\n" },
      "CTXREC_ERR_DATA_BAD_ROW",
      "events.csv:3: expected 3 fields (as in the header), got 2; check for a missing or extra comma",
    ],
    [
      "NaN confidence",
      { "items.csv": "id,categories\ni1,a:NaN\n" },
      "CTXREC_ERR_DATA_BAD_ROW",
      'items.csv:2: categories[0].confidence: expected a number in (0, 1], got "NaN"',
    ],
    [
      "negative confidence",
      { "items.csv": "id,categories\ni1,a:0.5|b:-0.2\n" },
      "CTXREC_ERR_DATA_BAD_ROW",
      "items.csv:2: categories[1].confidence: expected a number in (0, 1], got -0.2",
    ],
    [
      "category entry without confidence",
      { "items.csv": "id,categories\ni1,a:0.5|b\n" },
      "CTXREC_ERR_DATA_BAD_ROW",
      "items.csv:2: categories: entry 2 \"b\" is not 'category:confidence'; write entries like shoes:0.7|running:0.3",
    ],
    [
      "bid of the wrong type",
      { "items.csv": "id,categories,bid\ni1,,cheap\n" },
      "CTXREC_ERR_DATA_BAD_ROW",
      'items.csv:2: bid: expected a finite number ≥ 0, got "cheap"',
    ],
    [
      "timestamp of the wrong type",
      { "events.csv": "user,item,timestamp\nu1,i1,soon\n" },
      "CTXREC_ERR_DATA_BAD_ROW",
      'events.csv:2: timestamp: expected Unix seconds (a number ≥ 0) or an ISO-8601 date-time with a zone (e.g. 2024-05-01T12:00:00Z), got "soon"',
    ],
    [
      "unknown column in the header",
      { "events.csv": "usr,item,timestamp\nu1,i1,5\n" },
      "CTXREC_ERR_DATA_BAD_ROW",
      'events.csv:1: header: unknown column "usr"; expected columns user, item, timestamp and optionally type',
    ],
    [
      "missing column in the header",
      { "users.csv": "age\n41\n" },
      "CTXREC_ERR_DATA_BAD_ROW",
      'users.csv:1: header: missing column "id"; expected columns id and optionally age, country, gender, occupation',
    ],
    [
      "unknown item id",
      { "events.csv": "user,item,timestamp\nu1,i7,5\n" },
      "CTXREC_ERR_DATA_UNKNOWN_ID",
      'events.csv:2: item: item "i7" is not in the item catalogue; add it to the items file or remove the event (--skip-invalid skips such events)',
    ],
    [
      "invalid UTF-8",
      { "users.csv": Buffer.concat([Buffer.from("id,gender\nu1,"), Buffer.from([0xe9]), Buffer.from("\n")]) },
      "CTXREC_ERR_DATA_ENCODING",
      "users.csv:2: invalid UTF-8 byte 0xe9 at column 4; save the file as UTF-8",
    ],
    [
      "header only",
      { "users.csv": "id,age\n" },
      "CTXREC_ERR_DATA_EMPTY",
      "users.csv: file has a header but no data rows; add rows",
    ],
    [
      "empty file",
      { "events.csv": "" },
      "CTXREC_ERR_DATA_EMPTY",
      "events.csv: file is empty (no rows); add data rows",
    ],
  ];
  for (const [name, files, code, message] of cases) {
    it(name, async () => {
      await expectError(load(folder(files)), code, message);
    });
  }

  it("missing items file", async () => {
    const dir = folder({ "items.csv": "<absent>" });
    await expectError(
      load(dir),
      "CTXREC_ERR_DATA_MISSING_FILE",
      `${dir}: required file items.csv (or items.csv.gz) not found in this folder; add it or check --path`,
    );
  });
});
