/**
 * `ctxrec report` checked as a user sees it: the page is opened in headless Chromium (Debian's
 * `chromium` package, driven by puppeteer-core; nothing is downloaded) and every chart must be an
 * SVG of non-zero size with data marks, while the page loads nothing but itself. Skipped with the
 * reason in its name when chromium is absent outside CI; in CI (.ci/run installs chromium) it runs.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import puppeteer, { type Browser } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeReport } from "../src/report/report.ts";
import { writeReportFixtures } from "../src/report/testFixtures.ts";

const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const available = existsSync(chromium);
const inCi = process.env.CI === "true";
const title = available
  ? "report in headless Chromium"
  : inCi
    ? `report in headless Chromium (CI: ${chromium} is missing, .ci/run must install chromium)`
    : `report in headless Chromium (skipped: no ${chromium}; apt-get install -y chromium, or set CHROMIUM_PATH)`;

/** The few DOM members the checks use (tsconfig has no "dom" lib; these run inside the page). */
interface DomBox {
  width: number;
  height: number;
}
interface DomNode {
  getAttribute(name: string): string | null;
  querySelector(selector: string): DomNode | null;
  querySelectorAll(selector: string): ArrayLike<DomNode>;
  getBoundingClientRect(): DomBox;
  getBBox(): DomBox;
  textContent: string | null;
  offsetHeight: number;
}

interface ChartSeen {
  id: string;
  width: number;
  height: number;
  /** Data marks (children of Vega's role-mark groups: lines, areas, symbols, bars, rules). */
  marks: number;
  /** Largest bounding-box extent among the data marks (0 if all are empty). */
  markExtent: number;
}

describe.skipIf(!available && !inCi)(title, () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-report-browser-"));
  let browser: Browser;

  beforeAll(async () => {
    browser = await puppeteer.launch({
      executablePath: chromium,
      headless: true,
      // --no-sandbox: CI and the dev machines run as root, where Chromium's sandbox refuses to start.
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
  });
  afterAll(async () => {
    await browser?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** Opens `file`, refusing and recording every request other than the page itself. */
  async function open(file: string) {
    const page = await browser.newPage();
    const url = pathToFileURL(file).href;
    const others: string[] = [];
    await page.setRequestInterception(true);
    page.on("request", (req) => {
      if (req.url() === url) void req.continue();
      else {
        others.push(req.url());
        void req.abort();
      }
    });
    await page.setViewport({ width: 1200, height: 900 });
    await page.goto(url, { waitUntil: "load" });
    return { page, others };
  }

  it("every chart is an SVG of non-zero size with marks, and the page makes no request", async () => {
    const runs = path.join(tmp, "runs");
    writeReportFixtures(runs);
    const out = path.join(tmp, "report.html");
    const written = await writeReport({ runs: [runs], out });
    const { page, others } = await open(out);
    const charts: ChartSeen[] = await page.$$eval("figure.chart", (figs) =>
      // Runs inside the page: type-only casts, no Node-side helpers.
      figs.map((node) => {
        const f = node as unknown as DomNode;
        const svg = f.querySelector("svg");
        const box = svg?.getBoundingClientRect();
        const marks = svg ? Array.from(svg.querySelectorAll("g.role-mark > *")) : [];
        const extents = marks.map((m) => {
          const b = m.getBBox();
          return Math.max(b.width, b.height);
        });
        return {
          id: f.getAttribute("data-chart") ?? "",
          width: box?.width ?? 0,
          height: box?.height ?? 0,
          marks: marks.length,
          markExtent: Math.max(0, ...extents),
        };
      }),
    );
    expect(charts).toHaveLength(written.charts);
    expect(charts.length).toBe(21);
    for (const c of charts) {
      expect(c.width, c.id).toBeGreaterThan(100);
      expect(c.height, c.id).toBeGreaterThan(50);
      expect(c.marks, c.id).toBeGreaterThan(0);
      expect(c.markExtent, c.id).toBeGreaterThan(0);
    }
    // One chart of each kind the report draws is among them.
    for (const prefix of [
      "stale-0-drop-last-hit@10",
      "stale-1-cutoff-gain",
      "sweep-0-related-recall@100",
      "funnel-0-related-relevance_median",
      "ablations-0",
      "serve-0-envelope",
      "serve-0-http",
    ]) {
      expect(charts.map((c) => c.id)).toContain(prefix);
    }
    const text = await page.$eval("body", (b) => (b as unknown as DomNode).textContent ?? "");
    expect(text).not.toContain("not run yet");
    expect(text).toContain("BSARec");
    expect(others).toEqual([]);
    await page.close();
  });

  it("an empty runs folder shows a visible 'not run yet' note per section", async () => {
    const runs = path.join(tmp, "empty");
    mkdirSync(runs);
    const out = path.join(tmp, "empty.html");
    await writeReport({ runs: [runs], out });
    const { page, others } = await open(out);
    const notes = await page.$$eval("p.not-run", (ps) =>
      ps.map((node) => {
        const p = node as unknown as DomNode;
        return { text: p.textContent ?? "", visible: p.offsetHeight > 0 };
      }),
    );
    // headline 1, quality 2 (loo and bench:quality), staleness, funnel, ablations, serving 1 each.
    expect(notes.length).toBe(7);
    expect(notes.every((n) => n.visible && n.text.startsWith("not run yet: "))).toBe(true);
    expect(await page.$$("figure.chart")).toHaveLength(0);
    expect(others).toEqual([]);
    await page.close();
  });
});
