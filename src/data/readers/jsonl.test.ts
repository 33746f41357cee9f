import { afterEach, describe, expect, it } from "vitest";
import { loadDataset } from "../load.ts";
import { jsonl, type TempFolder, tempFolder } from "../testFiles.ts";
import { expectError } from "./expectError.ts";

let tmp: TempFolder;
afterEach(() => tmp?.remove());

const ITEMS = jsonl([
  {
    id: "i1",
    categories: [
      { id: "shoes", confidence: 0.7 },
      { id: "run", confidence: 0.3 },
    ],
    advertiser: "nike",
    bid: 1.5,
    countries: ["US", "FR"],
  },
  { id: "i2", categories: [] },
  { id: "i3", categories: [{ id: "run", confidence: 1 }] },
]);
const USERS = jsonl([{ id: "u1", age: 41, country: "FR", gender: "F" }, { id: "u2" }]);
const EVENTS = jsonl([
  { user: "u1", item: "i2", timestamp: 1_700_000_100, type: "checkout" },
  { user: "u1", item: "i1", timestamp: "2023-11-14T22:13:20Z" }, // = 1_700_000_000
  { user: "u2", item: "i3", timestamp: 5, type: "page_visit" },
  { user: "u2", item: "i1", timestamp: 6 },
]);

/** A good folder, with `over` replacing or adding files. */
function folder(over: Record<string, string | Uint8Array> = {}): string {
  tmp = tempFolder();
  const files: Record<string, string | Uint8Array> = {
    "items.jsonl": ITEMS,
    "users.jsonl": USERS,
    "events.jsonl": EVENTS,
    ...over,
  };
  for (const [name, content] of Object.entries(files)) if (content !== "<absent>") tmp.write(name, content);
  return tmp.dir;
}

const load = (path: string, skipInvalid = false) => loadDataset({ format: "jsonl", path, skipInvalid });

describe("JSONL reader: good input", () => {
  it("reads items, users and events (numbers and ISO timestamps) into time-ordered sequences", async () => {
    const ds = await load(folder());
    expect(ds.userVocab.names).toEqual(["<pad>", "u1", "u2"]);
    expect(ds.itemVocab.names).toEqual(["<pad>", "i1", "i2", "i3"]);
    expect([...ds.offsets]).toEqual([0, 0, 2, 4]);
    // u1: i1 @1_700_000_000 (ISO) before i2 @1_700_000_100
    expect([...ds.items]).toEqual([1, 2, 3, 1]);
    expect([...ds.timestamps]).toEqual([1_700_000_000, 1_700_000_100, 5, 6]);
    expect(ds.typeVocab.names).toEqual(["<pad>", "<missing>", "checkout", "page_visit"]);
    expect([...ds.types]).toEqual([1, 2, 3, 1]);
    expect([...ds.catOffsets]).toEqual([0, 0, 2, 2, 3]);
    expect(ds.report.itemsWithoutCategories).toBe(1);
    expect(ds.demographics.country.vocab.names).toEqual(["<pad>", "<missing>", "US", "FR"]);
    expect([...ds.demographics.country.codes]).toEqual([0, 3, 1]);
  });

  it("reads .gz files and works without users.jsonl", async () => {
    const ds = await load(
      folder({ "users.jsonl": "<absent>", "events.jsonl": "<absent>", "events.jsonl.gz": EVENTS }),
    );
    expect(ds.items.length).toBe(4);
    expect([...ds.demographics.gender.codes]).toEqual([0, 1, 1]);
    expect(ds.report.usersWithoutProfile).toBe(0); // no users file: nothing to be missing from
  });

  it("with skipInvalid, skips and reports bad rows", async () => {
    const events = `${EVENTS}{"user":"u1","item":"nope","timestamp":1}\n{"user":"u1"\n`;
    const ds = await load(folder({ "events.jsonl": events }), true);
    expect(ds.items.length).toBe(4);
    expect(ds.report.invalidRows).toBe(2);
    expect(ds.report.unknownItemEvents).toBe(1);
    expect(ds.report.invalidReasons).toEqual([
      'events.jsonl:5: item: item "nope" is not in the item catalogue; add it to the items file or remove the event (--skip-invalid skips such events)',
      'events.jsonl:6: line is not valid JSON (truncated or malformed): \'{"user":"u1"\'; write one complete JSON object per line',
    ]);
  });
});

describe("JSONL reader: bad-input corpus", () => {
  const cases: [string, Record<string, string | Uint8Array>, Parameters<typeof expectError>[1], string][] = [
    [
      "truncated line",
      { "events.jsonl": '{"user":"u1","item":"i1","timestamp":1}\n{"user":"u1","item":"i2","time' },
      "CTXREC_ERR_DATA_BAD_ROW",
      'events.jsonl:2: line is not valid JSON (truncated or malformed): \'{"user":"u1","item":"i2","time\'; write one complete JSON object per line',
    ],
    [
      "timestamp of the wrong type",
      { "events.jsonl": jsonl([{ user: "u1", item: "i1", timestamp: "yesterday" }]) },
      "CTXREC_ERR_DATA_BAD_ROW",
      'events.jsonl:1: timestamp: expected Unix seconds (a number ≥ 0) or an ISO-8601 date-time with a zone (e.g. 2024-05-01T12:00:00Z), got "yesterday"',
    ],
    [
      "numeric user id",
      { "events.jsonl": jsonl([{ user: 42, item: "i1", timestamp: 1 }]) },
      "CTXREC_ERR_DATA_BAD_ROW",
      "events.jsonl:1: user: expected a string id, got 42",
    ],
    [
      "negative confidence",
      { "items.jsonl": jsonl([{ id: "i1", categories: [{ id: "c", confidence: -0.5 }] }]) },
      "CTXREC_ERR_DATA_BAD_ROW",
      "items.jsonl:1: categories[0].confidence: expected a number in (0, 1], got -0.5",
    ],
    [
      "confidence above 1",
      {
        "items.jsonl": jsonl([
          {
            id: "i1",
            categories: [
              { id: "a", confidence: 0.5 },
              { id: "c", confidence: 1.5 },
            ],
          },
        ]),
      },
      "CTXREC_ERR_DATA_BAD_ROW",
      "items.jsonl:1: categories[1].confidence: expected a number in (0, 1], got 1.5",
    ],
    [
      "missing categories field",
      { "items.jsonl": jsonl([{ id: "i1" }]) },
      "CTXREC_ERR_DATA_BAD_ROW",
      "items.jsonl:1: categories: expected an array of {id, confidence}, got nothing (field missing)",
    ],
    [
      "a row that is not an object",
      { "users.jsonl": "[1, 2]\n" },
      "CTXREC_ERR_DATA_BAD_ROW",
      "users.jsonl:1: expected a JSON object, got [1,2]",
    ],
    [
      "age of the wrong type",
      { "users.jsonl": jsonl([{ id: "u1", age: "old" }]) },
      "CTXREC_ERR_DATA_BAD_ROW",
      'users.jsonl:1: age: expected an integer age in [0, 150], got "old"',
    ],
    [
      "unknown item id",
      {
        "events.jsonl": jsonl([
          { user: "u1", item: "i1", timestamp: 1 },
          { user: "u1", item: "i9", timestamp: 2 },
        ]),
      },
      "CTXREC_ERR_DATA_UNKNOWN_ID",
      'events.jsonl:2: item: item "i9" is not in the item catalogue; add it to the items file or remove the event (--skip-invalid skips such events)',
    ],
    [
      "invalid UTF-8 in a gzip file",
      {
        "users.jsonl": "<absent>",
        "users.jsonl.gz": Buffer.concat([
          Buffer.from('{"id":"u1"}\n{"id":"b'),
          Buffer.from([0xc3, 0x28]),
          Buffer.from('"}\n'),
        ]),
      },
      "CTXREC_ERR_DATA_ENCODING",
      "users.jsonl.gz:2: invalid UTF-8 byte 0xc3 at column 9; save the file as UTF-8",
    ],
    [
      "empty items file",
      { "items.jsonl": "" },
      "CTXREC_ERR_DATA_EMPTY",
      "items.jsonl: file is empty (no rows); add data rows",
    ],
  ];
  for (const [name, files, code, message] of cases) {
    it(name, async () => {
      await expectError(load(folder(files)), code, message);
    });
  }

  it("missing events file", async () => {
    const dir = folder({ "events.jsonl": "<absent>" });
    await expectError(
      load(dir),
      "CTXREC_ERR_DATA_MISSING_FILE",
      `${dir}: required file events.jsonl (or events.jsonl.gz) not found in this folder; add it or check --path`,
    );
  });

  it("missing folder", async () => {
    await expectError(
      load("/nonexistent/ctxrec"),
      "CTXREC_ERR_DATA_MISSING_FILE",
      "/nonexistent/ctxrec: JSONL data folder not found; pass the folder that holds the files with --path",
    );
  });

  it("both plain and .gz present", async () => {
    const dir = folder({ "events.jsonl.gz": EVENTS });
    await expectError(
      load(dir),
      "CTXREC_ERR_ARG",
      `${dir}: both events.jsonl and events.jsonl.gz exist; keep only one`,
    );
  });
});
