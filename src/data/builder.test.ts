import { describe, expect, it } from "vitest";
import type { CtxrecError } from "../core/errors.ts";
import { DatasetBuilder } from "./builder.ts";

const loc = (line: number) => ({ file: "events.jsonl", line });

describe("DatasetBuilder", () => {
  it("builds vocabularies with 0 = padding and 1 = missing, CSR categories and demographics", () => {
    const b = new DatasetBuilder();
    b.addItem(
      {
        id: "i1",
        categories: [
          { id: "c1", confidence: 0.7 },
          { id: "c2", confidence: 0.3 },
        ],
        bid: 2,
        countries: ["US"],
      },
      loc(1),
    );
    b.addItem({ id: "i2", categories: [], advertiser: "a1" }, loc(2));
    b.closeCatalogue();
    b.addUser({ id: "u1", age: 30, gender: "F" }, loc(1));
    b.addEvent("u1", "i2", 20, "checkout", loc(1));
    b.addEvent("u1", "i1", 10, undefined, loc(2));
    b.addEvent("u2", "i1", 5, "checkout", loc(3));
    const ds = b.finish({ format: "test", path: "-" });
    expect(ds.userVocab.names).toEqual(["<pad>", "u1", "u2"]);
    expect(ds.itemVocab.names).toEqual(["<pad>", "i1", "i2"]);
    expect(ds.categoryVocab.names).toEqual(["<pad>", "c1", "c2"]);
    expect(ds.typeVocab.names).toEqual(["<pad>", "<missing>", "checkout"]);
    expect([...ds.offsets]).toEqual([0, 0, 2, 3]);
    expect([...ds.items]).toEqual([1, 2, 1]); // u1: i1@10, i2@20; u2: i1@5
    expect([...ds.types]).toEqual([1, 2, 2]);
    expect([...ds.catOffsets]).toEqual([0, 0, 2, 2]);
    expect([...ds.catIds]).toEqual([1, 2]);
    expect([...ds.catConf]).toEqual([Math.fround(0.7), Math.fround(0.3)]);
    expect([...ds.itemAdvertiser]).toEqual([0, 1, 2]); // i1 none (1), i2 a1 (2)
    expect([...ds.itemBid]).toEqual([Number.NaN, 2, Number.NaN]);
    expect([...ds.itemCountryOffsets]).toEqual([0, 0, 1, 1]);
    expect(ds.demographics.country.vocab.names[ds.itemCountries[0]]).toBe("US");
    // age 30 → bucket 25-34 (code 2 + index 2 = 4); u2 has no profile → missing (1)
    expect([...ds.demographics.age.codes]).toEqual([0, 4, 1]);
    expect(ds.demographics.age.vocab.names[4]).toBe("25-34");
    expect([...ds.demographics.gender.codes]).toEqual([0, 2, 1]);
    expect([...ds.userAge]).toEqual([Number.NaN, 30, Number.NaN]);
    expect(ds.report).toMatchObject({
      singleEventUsers: 1,
      usersWithoutProfile: 1,
      itemsWithoutCategories: 1,
    });
  });

  it("fails on an unknown item by default, naming file:line:item", () => {
    const b = new DatasetBuilder();
    b.addItem({ id: "i1", categories: [] }, loc(1));
    b.closeCatalogue();
    expect(() => b.row(() => b.addEvent("u1", "zz", 1, undefined, loc(4)))).toThrow(
      'events.jsonl:4: item: item "zz" is not in the item catalogue; add it to the items file or remove the event (--skip-invalid skips such events)',
    );
  });

  it("with skipInvalid counts skipped rows, unknown items and keeps the first 5 reasons", () => {
    const b = new DatasetBuilder({ skipInvalid: true });
    b.addItem({ id: "i1", categories: [] }, loc(1));
    b.closeCatalogue();
    for (let k = 1; k <= 7; k++)
      expect(b.row(() => b.addEvent("u1", `x${k}`, k, undefined, loc(k)))).toBe(false);
    b.row(() => b.addEvent("u1", "i1", 1, undefined, loc(8)));
    b.row(() => b.addEvent("u1", "i1", 1, undefined, loc(9))); // exact duplicate
    const ds = b.finish({ format: "test", path: "-" });
    expect(ds.report.invalidRows).toBe(7);
    expect(ds.report.unknownItemEvents).toBe(7);
    expect(ds.report.invalidReasons).toHaveLength(5);
    expect(ds.report.invalidReasons[0]).toMatch(/^events\.jsonl:1: item: item "x1" is not/);
    expect(ds.report.duplicateEvents).toBe(1);
    expect(ds.items.length).toBe(1);
    // the skipped events did not create user u1 twice, nor phantom users
    expect(ds.userVocab.names).toEqual(["<pad>", "u1"]);
  });

  it("rejects duplicate item and user ids and a category listed twice, leaving no half-added item", () => {
    const b = new DatasetBuilder();
    b.addItem({ id: "i1", categories: [] }, { file: "items.jsonl", line: 1 });
    expect(() => b.addItem({ id: "i1", categories: [] }, { file: "items.jsonl", line: 3 })).toThrow(
      'items.jsonl:3: id: duplicate item id "i1" (first defined at line 1); keep one row per item',
    );
    expect(() =>
      b.addItem(
        {
          id: "i2",
          categories: [
            { id: "c", confidence: 0.5 },
            { id: "c", confidence: 0.5 },
          ],
        },
        { file: "items.jsonl", line: 4 },
      ),
    ).toThrow('items.jsonl:4: categories[1].id: category "c" is listed twice; list each category once');
    expect(b.itemVocab.get("i2")).toBeUndefined();
    b.addUser({ id: "u" }, { file: "users.jsonl", line: 2 });
    const err = (() => {
      try {
        b.addUser({ id: "u" }, { file: "users.jsonl", line: 5 });
      } catch (e) {
        return e as CtxrecError;
      }
    })();
    expect(err?.message).toBe(
      'users.jsonl:5: id: duplicate user id "u" (first defined at line 2); keep one row per user',
    );
  });
});
