import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { emptyInputs, loadRunInputs } from "./discover.ts";
import { esc } from "./html.ts";
import { parseInput } from "./inputs.ts";
import { buildReport, writeReport } from "./report.ts";
import { fixtureDocuments, writeReportFixtures } from "./testFixtures.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-report-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Nothing on the page may load from anywhere: no src/href to a URL, no CSS url() or @import. */
function externalReferences(html: string): string[] {
  const refs = html.match(
    /\b(?:src|href|xlink:href)\s*=\s*["'](?!#)[^"']*["']|url\(|@import|<script|<link|<img|<iframe/gi,
  );
  return refs ?? [];
}

describe("ctxrec report page", () => {
  it("with no inputs, every section shows its 'not run yet' note with the command, and no chart", async () => {
    const r = await buildReport(emptyInputs(), { generatedAt: new Date(0) });
    expect(r.sections.map((s) => [s.id, s.present])).toEqual([
      ["headline", false],
      ["quality", false],
      ["staleness", false],
      ["funnel", false],
      ["ablations", false],
      ["serving", false],
    ]);
    expect(r.charts).toBe(0);
    for (const cmd of [
      "ctxrec eval --protocol loo --model DIR",
      "npm run bench:quality",
      "ctxrec eval --protocol stale-context --model DIR --baseline DIR2",
      "ctxrec funnel-sweep --r 0,0.25,0.5,0.75,1",
      "npm run bench:ablations",
      "npm run bench:serve",
    ]) {
      expect(r.html).toContain(`not run yet: <code>${esc(cmd)}`);
    }
    // The published references are shown even before anything ran.
    expect(r.html).toContain('<td>ICLRec</td><td class="n">0.0744</td><td class="n">0.0403</td>');
  });

  it("a partial runs folder renders what is there and notes the rest", async () => {
    const dir = path.join(tmp, "partial");
    writeReportFixtures(dir, ["stale", "sweep", "funnel", "ablations"]);
    const r = await buildReport(loadRunInputs([dir]));
    const present = Object.fromEntries(r.sections.map((s) => [s.id, s.present]));
    expect(present).toEqual({
      headline: true,
      quality: true,
      staleness: false,
      funnel: false,
      ablations: false,
      serving: true,
    });
    expect(r.html).toContain("not run yet: <code>npm run bench:ablations</code>");
    expect(r.html).not.toContain("not run yet: <code>npm run bench:serve</code>");
    expect(r.charts).toBe(2); // the serving envelope and HTTP-vs-load charts
  });

  it("with every kind of input: all sections, one chart per figure, no external reference", async () => {
    const dir = path.join(tmp, "full");
    writeReportFixtures(dir);
    const r = await buildReport(loadRunInputs([dir]));
    expect(r.sections.every((s) => s.present)).toBe(true);
    expect(r.html).not.toContain("not run yet: <code>npm run");
    // stale: ml-100k (cutoff) and Beauty (drop-last) → 2 × (hit@10, ndcg@10, gain) = 6;
    // sweep: 2 surfaces × 4 metrics = 8; one funnel run: 4 bars; ablations: 1; serving: 2. 6 + 8 + 4 + 1 + 2 = 21.
    expect(r.charts).toBe(21);
    expect((r.html.match(/<svg /g) ?? []).length).toBe(21);
    expect(externalReferences(r.html)).toEqual([]);
    // Headline order: ours, baseline, then the published rows.
    const headline = r.html.slice(r.html.indexOf('id="headline"'), r.html.indexOf('id="quality"'));
    const order = [
      "<td>ctxrec contextual (ours)",
      "<td>ctxrec baseline",
      "<td>SASRec",
      "<td>ICLRec",
      "<td>BSARec",
    ].map((s) => headline.indexOf(s));
    expect(order.every((p, i) => p > 0 && (i === 0 || p > order[i - 1]))).toBe(true);
    expect(headline).toContain("0.0731"); // the fixture's contextual HIT@10
  });

  it("escapes text from the inputs", async () => {
    const inputs = emptyInputs();
    const loo = fixtureDocuments().find((d) => d.file === "loo-beauty-contextual.json")?.doc as object;
    const evil = { ...loo, dataset: 'beauty<script>alert("x")</script>', model: "ctxrec@<b>&" };
    inputs.loo.push({ file: "runs/<loo>.json", data: parseInput("loo", "x", JSON.stringify(evil)) });
    const { html } = await buildReport(inputs);
    expect(html).not.toContain("<script");
    expect(html).not.toContain("<b>&");
    expect(html).toContain("beauty&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(html).toContain("ctxrec@&lt;b&gt;&amp;");
    expect(html).toContain("runs/&lt;loo&gt;.json");
  });

  it("writeReport writes the page atomically (no temporary file left) into a new folder", async () => {
    const dir = path.join(tmp, "write");
    writeReportFixtures(dir, ["sweep", "stale", "funnel"]);
    const out = path.join(tmp, "out/nested/report.html");
    const r = await writeReport({ runs: [dir], out, title: "T <1>" });
    expect(existsSync(out)).toBe(true);
    expect(readdirSync(path.dirname(out))).toEqual(["report.html"]);
    const html = readFileSync(out, "utf8");
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).toContain("<title>T &lt;1&gt;</title>");
    expect(r.bytes).toBe(Buffer.byteLength(html));
    expect(r.files.loo).toHaveLength(3);
    expect(r.files.sweep).toEqual([]);
  });
});
