/**
 * Stream entries → events or malformed reasons (pure): every field check names the entry id and
 * the field, and the events-URL parser accepts the store's server forms plus the stream's key.
 */
import { describe, expect, it } from "vitest";
import { describeMalformed, entryIdMs, entryRules, isMalformed, parseEntry } from "./entry.ts";
import { describeEventsUrl, parseEventsUrl } from "./eventsUrl.ts";

const rules = entryRules(
  { items: ["<pad>", "i1", "i2"], types: ["<pad>", "<missing>", "click"] },
  { knownUser: (u) => u !== "ghost", maxFutureSeconds: 60 },
);
const NOW = 1_700_000_000;
const parse = (fields: string[] | null, id = "1700000000123-4") => parseEntry(id, fields, rules, NOW);

describe("parseEntry", () => {
  it("takes user, item, ts and an optional type; the id's first part is when Redis took the entry", () => {
    expect(parse(["user", "u1", "item", "i2", "ts", "1699999999.5", "type", "click", "extra", "x"])).toEqual({
      entryId: "1700000000123-4",
      user: "u1",
      item: "i2",
      type: "click",
      timestamp: 1699999999.5,
      enqueuedMs: 1700000000123,
    });
    expect(parse(["user", "u1", "item", "i1", "ts", "0"])).toMatchObject({ type: undefined, timestamp: 0 });
    expect(entryIdMs("17-0")).toBe(17);
    expect(entryIdMs("nope")).toBeUndefined();
  });

  const cases: [string, string[] | null, string, RegExp][] = [
    ["missing user", ["item", "i1", "ts", "1"], "user", /missing/],
    ["unknown user", ["user", "ghost", "item", "i1", "ts", "1"], "user", /"ghost" is not a known user/],
    ["unknown item", ["user", "u", "item", "i9", "ts", "1"], "item", /"i9" is not an item/],
    ["padding as item", ["user", "u", "item", "<pad>", "ts", "1"], "item", /not an item/],
    ["missing ts", ["user", "u", "item", "i1"], "ts", /missing/],
    [
      "ts not a number",
      ["user", "u", "item", "i1", "ts", "yesterday"],
      "ts",
      /"yesterday" is not Unix seconds/,
    ],
    ["negative ts", ["user", "u", "item", "i1", "ts", "-5"], "ts", /not Unix seconds/],
    ["ts as JSON", ["user", "u", "item", "i1", "ts", '{"s":1}'], "ts", /not Unix seconds/],
    ["ts too far ahead", ["user", "u", "item", "i1", "ts", String(NOW + 61)], "ts", /61 s in the future/],
    [
      "unknown type",
      ["user", "u", "item", "i1", "ts", "1", "type", "buy"],
      "type",
      /"buy" is not an event type/,
    ],
    [
      "type <missing>",
      ["user", "u", "item", "i1", "ts", "1", "type", "<missing>"],
      "type",
      /not an event type/,
    ],
    ["field twice", ["user", "u", "user", "v", "item", "i1", "ts", "1"], "user", /given twice/],
    ["deleted entry", null, "entry", /deleted/],
  ];
  for (const [what, fields, field, reason] of cases) {
    it(`refuses ${what}, naming the entry id and the field`, () => {
      const r = parse(fields);
      expect(isMalformed(r)).toBe(true);
      if (!isMalformed(r)) return;
      expect(r.field).toBe(field);
      expect(r.reason).toMatch(reason);
      expect(describeMalformed(r)).toMatch(new RegExp(`^entry 1700000000123-4: field ${field} `));
    });
  }

  it("accepts every user without a knownUser rule, and ts up to maxFutureSeconds ahead", () => {
    const open = entryRules({ items: ["<pad>", "i1"], types: ["<pad>", "<missing>"] });
    expect(isMalformed(parseEntry("1-0", ["user", "ghost", "item", "i1", "ts", "5"], open, NOW))).toBe(false);
    expect(isMalformed(parse(["user", "u", "item", "i1", "ts", String(NOW + 60)]))).toBe(false);
  });
});

describe("parseEventsUrl", () => {
  it("reads the server as a --store URL and the last segment as the stream", () => {
    expect(parseEventsUrl("redis://127.0.0.1:6380/3/ev%2Fa")).toEqual({
      server: { kind: "redis", host: "127.0.0.1", port: 6380, db: 3 },
      stream: "ev/a",
    });
    const u = parseEventsUrl("redis://:secret@h/events");
    expect(u).toMatchObject({
      server: { host: "h", port: 6379, db: 0, password: "secret" },
      stream: "events",
    });
    expect(describeEventsUrl(u)).toBe("redis://:***@h:6379/0/events");
  });

  it("refuses URLs without a stream, other schemes and bad databases, naming the flag", () => {
    for (const bad of [
      "redis://h:6379",
      "redis://h:6379/15",
      "redis://h:6379/",
      "redis://h/0/",
      "file:x",
      "redis://h/x/y/z",
      "redis://h/db/ev",
    ]) {
      expect(() => parseEventsUrl(bad), bad).toThrow(
        /--events.*events URL.*redis:\/\/HOST:PORT\[\/DB\]\/STREAM/,
      );
    }
  });
});
