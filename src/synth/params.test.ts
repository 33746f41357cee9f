import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CtxrecError } from "../core/errors.ts";
import { PARAM_SPECS, PRESET_NAMES, presetParams, resolveParams } from "./params.ts";

describe("presets", () => {
  it("sizes tiny, small and large as the issue asks", () => {
    expect(presetParams("tiny")).toMatchObject({ users: 300, items: 200, categories: 40 });
    expect(presetParams("small")).toMatchObject({ users: 20_000, items: 10_000, eventsPerUser: 20 });
    // 1M users × 20 events per user ≈ 20M events.
    expect(presetParams("large")).toMatchObject({ users: 1_000_000, items: 500_000, eventsPerUser: 20 });
  });

  it("resolves every parameter in every preset inside its own range", () => {
    for (const name of PRESET_NAMES) {
      const p = resolveParams(name);
      for (const [param, spec] of Object.entries(PARAM_SPECS)) {
        const v = p[param as keyof typeof p];
        expect(v, `${name}.${param}`).toBeGreaterThanOrEqual(spec.min);
        expect(v, `${name}.${param}`).toBeLessThanOrEqual(spec.max);
      }
    }
  });

  it("rejects an unknown preset, naming the choices", () => {
    expect(() => presetParams("huge")).toThrow(
      "parameter preset: unknown preset 'huge'; use one of tiny, small, large",
    );
  });
});

describe("overrides", () => {
  it("apply on top of the preset", () => {
    const p = resolveParams("tiny", { r: 1, q: 0, users: 50 });
    expect(p).toMatchObject({ r: 1, q: 0, users: 50, items: 200 });
  });

  it.each([
    [
      "r",
      1.5,
      "parameter r: got 1.5; r (context strength: chance the next conversion comes from the intent) must be a number in [0, 1]",
    ],
    ["q", -0.1, "parameter q: got -0.1;"],
    ["users", 2.5, "parameter users: got 2.5; users (number of users) must be an integer in [1, 50000000]"],
    ["itemZipf", Number.NaN, "parameter itemZipf: got null;"],
    ["topicStay", "0.5", 'parameter topicStay: got "0.5";'],
  ])("rejects %s = %s with the allowed range", (name, value, message) => {
    let err: unknown;
    try {
      resolveParams("tiny", { [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CtxrecError);
    expect((err as CtxrecError).code).toBe("CTXREC_ERR_ARG");
    expect((err as CtxrecError).message).toContain(message);
  });

  it("rejects unknown parameter names, listing the known ones", () => {
    expect(() => resolveParams("tiny", { usres: 5 })).toThrow(
      /parameter usres: unknown parameter 'usres'; known parameters: users, items/,
    );
  });

  it("checks the rules that tie parameters together", () => {
    expect(() => resolveParams("tiny", { items: 10 })).toThrow("items (10) must be ≥ categories (40)");
    expect(() => resolveParams("tiny", { families: 41 })).toThrow("categories (40) must be ≥ families (41)");
    expect(() => resolveParams("tiny", { minEvents: 9, maxEvents: 8 })).toThrow(
      "minEvents (9) must be ≤ maxEvents (8)",
    );
    expect(() =>
      resolveParams("tiny", { typePageVisit: 0, typeAddToCart: 0, typeCheckout: 0, typeSignup: 0 }),
    ).toThrow("must not all be 0");
  });
});

describe("docs/synthetic-world.md", () => {
  it("lists every parameter with its default", () => {
    const doc = readFileSync(new URL("../../docs/synthetic-world.md", import.meta.url), "utf8");
    const rows = new Map<string, string>();
    for (const m of doc.matchAll(/^\|\s*`(\w+)`\s*\|\s*([^|]+?)\s*\|/gm)) rows.set(m[1], m[2]);
    for (const [name, spec] of Object.entries(PARAM_SPECS)) {
      expect(rows.has(name), `${name} missing from the parameter table`).toBe(true);
      expect(Number(rows.get(name)?.replaceAll(",", "").replaceAll("_", "")), name).toBe(spec.default);
    }
  });
});
