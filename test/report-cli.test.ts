import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeReportFixtures } from "../src/report/testFixtures.ts";
import { ctxrec } from "./cli.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-report-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("ctxrec report", () => {
  it("writes the page from two runs folders and says what it read and what is missing", () => {
    const a = path.join(tmp, "a");
    const b = path.join(tmp, "b");
    writeReportFixtures(a, ["stale", "sweep", "funnel", "ablations", "serve"]);
    writeReportFixtures(b, ["loo", "quality", "sweep", "funnel", "ablations"]);
    const out = path.join(tmp, "site/report.html");
    const r = ctxrec(["report", "--runs", a, b, "--out", out, "--title", "smoke"]);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(
      "read loo 3, stale 2, quality 1, serve 1; 8 chart(s); not run yet: funnel, ablations",
    );
    expect(r.stdout).toContain(`wrote ${out}`);
    const html = readFileSync(out, "utf8");
    expect(html).toContain("<title>smoke</title>");
    expect(html).toContain("not run yet: <code>npm run bench:ablations</code>");
  });

  it("a malformed result file fails with exit 2 naming the file and the field", () => {
    const dir = path.join(tmp, "bad/eval");
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, "stale-ml.json"),
      JSON.stringify({ protocol: "stale-context", dataset: "d", users: 1, settings: [] }),
    );
    const out = path.join(tmp, "bad.html");
    const r = ctxrec(["report", "--runs", path.join(tmp, "bad"), "--out", out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/CTXREC_ERR_DATA_BAD_ROW: .*eval\/stale-ml\.json: settings: .*found \[\]/);
    expect(existsSync(out)).toBe(false);
  });
});
