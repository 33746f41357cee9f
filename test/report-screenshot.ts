/**
 * Renders a report HTML file in headless Chromium and saves a full-page PNG screenshot (used for
 * docs/report.png):
 *
 *   npx tsx test/report-screenshot.ts report.html docs/report.png [--width 1200]
 *
 * Needs Debian's `chromium` (/usr/bin/chromium, or CHROMIUM_PATH) and the puppeteer-core dev
 * dependency; JavaScript is off and every request other than the page itself is refused.
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import puppeteer from "puppeteer-core";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { width: { type: "string", default: "1200" } },
});
if (positionals.length !== 2) {
  process.stderr.write("usage: npx tsx test/report-screenshot.ts REPORT.html OUT.png [--width 1200]\n");
  process.exit(2);
}
const [html, png] = positionals;
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu"],
});
try {
  const page = await browser.newPage();
  await page.setJavaScriptEnabled(false);
  await page.setViewport({ width: Number(values.width), height: 900 });
  await page.goto(pathToFileURL(path.resolve(html)).href, { waitUntil: "load" });
  await page.screenshot({ path: png as `${string}.png`, fullPage: true });
  process.stdout.write(`wrote ${png}\n`);
} finally {
  await browser.close();
}
