import { describe, expect, expectTypeOf, it } from "vitest";
import { CtxrecError } from "../core/errors.ts";
import type { AblationsFile as PipelineAblationsFile } from "../pipeline/ablationRows.ts";
import { type AblationsFile, type InputKind, parseInput } from "./inputs.ts";
import { fixtureDocuments } from "./testFixtures.ts";

/** The error parseInput throws for `text`, or fails the test. */
function errorOf(kind: InputKind, file: string, text: string): CtxrecError {
  try {
    parseInput(kind, file, text);
  } catch (err) {
    expect(err).toBeInstanceOf(CtxrecError);
    return err as CtxrecError;
  }
  throw new Error("parseInput accepted a malformed document");
}

describe("report inputs", () => {
  it("accepts every fixture document as its kind", () => {
    for (const { kind, file, doc } of fixtureDocuments()) {
      expect(() => parseInput(kind, file, JSON.stringify(doc)), file).not.toThrow();
    }
  });

  it("the ablation rows bench:ablations writes (src/pipeline) are what the report reads", () => {
    expectTypeOf<PipelineAblationsFile>().toExtend<AblationsFile>();
  });

  it("a wrong type names the file, the field path and the bad value", () => {
    const loo = fixtureDocuments().find((d) => d.kind === "loo")?.doc as { metrics: Record<string, unknown> };
    const bad = { ...loo, metrics: { ...loo.metrics, "hit@10": "0.07" } };
    const err = errorOf("loo", "runs/loo-x.json", JSON.stringify(bad));
    expect(err.code).toBe("CTXREC_ERR_DATA_BAD_ROW");
    expect(err.location).toEqual({ file: "runs/loo-x.json", field: "metrics.hit@10" });
    expect(err.message).toMatch(/^runs\/loo-x\.json: metrics\.hit@10: .*expected number.*found "0\.07"/);
  });

  it("a missing field inside an array is named with its index", () => {
    const serve = fixtureDocuments().find((d) => d.kind === "serve")?.doc as {
      http: Record<string, unknown>[];
    };
    const http = serve.http.map((h, i) => (i === 2 ? { ...h, p99Ms: undefined } : h));
    const err = errorOf("serve", "serve.json", JSON.stringify({ ...serve, http }));
    expect(err.location.field).toBe("http[2].p99Ms");
    expect(err.message).toContain("found nothing (the field is missing)");
  });

  it("an ablation row without its value is refused, optional numbers may be null", () => {
    const rows = [
      { group: "fusion", variant: "concat", metric: "ndcg@10", value: 0.05, low: null, delta: null },
    ];
    expect(parseInput("ablations", "a.json", JSON.stringify({ rows })).rows[0].low).toBeNull();
    const err = errorOf(
      "ablations",
      "a.json",
      JSON.stringify({ rows: [{ group: "fusion", variant: "x", metric: "m" }] }),
    );
    expect(err.location.field).toBe("rows[0].value");
  });

  it("a file of another protocol under a stale-context name says which field is wrong", () => {
    const loo = fixtureDocuments().find((d) => d.kind === "loo")?.doc;
    const err = errorOf("stale", "stale-x.json", JSON.stringify(loo));
    expect(err.location.field).toBe("protocol");
    expect(err.message).toContain('found "loo"');
  });

  it("text that is not JSON is an encoding error naming the file", () => {
    const err = errorOf("sweep", "sweep/sweep.json", '{"protocol": "funnel-sweep",');
    expect(err.code).toBe("CTXREC_ERR_DATA_ENCODING");
    expect(err.message).toMatch(/^sweep\/sweep\.json: not valid JSON/);
  });
});
