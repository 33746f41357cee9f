/**
 * HTML building blocks of the report: escaping, tables, notes and the page shell. All text that
 * comes from an input file (data set names, model names, CG names, file paths) goes through
 * `esc`; only the charts' SVG (rendered by Vega from escaped specs) and the fragments built here
 * are inserted as markup.
 */

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function esc(text: string | number): string {
  return String(text)
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** A fixed-digit number, "—" for null/undefined/non-finite. */
export function num(x: number | null | undefined, digits = 4): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(digits);
}

/** "0.1234 [0.1000, 0.1500]", or just the value when the interval is unknown. */
export function withInterval(
  value: number | null | undefined,
  low: number | null | undefined,
  high: number | null | undefined,
  digits = 4,
): string {
  const v = num(value, digits);
  if (v === "—" || low === null || low === undefined || high === null || high === undefined) return v;
  return `${v} [${num(low, digits)}, ${num(high, digits)}]`;
}

/** A table cell: text (escaped) or markup already built here. */
export type Cell = string | { html: string };

/** A table; columns from index `numericFrom` on are right-aligned (numbers). */
export function table(
  headers: readonly string[],
  rows: readonly (readonly Cell[])[],
  numericFrom = 1,
): string {
  const cell = (c: Cell, i: number, tag: "td" | "th") => {
    const cls = i >= numericFrom ? ' class="n"' : "";
    return `<${tag}${cls}>${typeof c === "string" ? esc(c) : c.html}</${tag}>`;
  };
  const head = `<tr>${headers.map((h, i) => cell(h, i, "th")).join("")}</tr>`;
  const body = rows.map((r) => `<tr>${r.map((c, i) => cell(c, i, "td")).join("")}</tr>`).join("\n");
  return `<table>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

/** The visible note for a section whose inputs are absent. */
export function notRunYet(command: string, what: string): string {
  return `<p class="not-run">not run yet: <code>${esc(command)}</code> <span>(${esc(what)})</span></p>`;
}

/** "source: a.json, b.json" under a section. */
export function sources(files: readonly string[]): string {
  return files.length === 0
    ? ""
    : `<p class="src">source: ${files.map((f) => `<code>${esc(f)}</code>`).join(", ")}</p>`;
}

/** A chart: inline SVG in a figure the browser test can find (`figure.chart[data-chart]`). */
export function figure(id: string, svg: string, caption: string): string {
  return `<figure class="chart" data-chart="${esc(id)}">${svg}<figcaption>${esc(caption)}</figcaption></figure>`;
}

export interface Section {
  id: string;
  title: string;
  /** Whether any input fed the section (false: it shows only its "not run yet" note). */
  present: boolean;
  html: string;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;margin:0;background:#fafafa}
main{max-width:1180px;margin:0 auto;padding:16px 28px 48px}
h1{font-size:24px;margin:12px 0 2px}h2{font-size:19px;margin:30px 0 6px;border-bottom:1px solid #ddd;padding-bottom:3px}
h3{font-size:15px;margin:18px 0 6px}
.meta{color:#57606a;margin:0 0 10px}
nav a{margin-right:12px;color:#0b5cad;text-decoration:none}
table{border-collapse:collapse;margin:6px 0 10px;background:#fff;font-variant-numeric:tabular-nums}
th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f0f3f6}
td.n,th.n{text-align:right}
tr.ours td{font-weight:600}tr.published td{color:#57606a}
.charts{display:flex;flex-wrap:wrap;gap:10px}
figure.chart{margin:0;background:#fff;border:1px solid #e1e4e8;padding:6px}
figure.chart figcaption{font-size:12px;color:#57606a;max-width:380px}
.not-run{background:#fff8c5;border:1px solid #d4a72c;padding:6px 10px;display:inline-block}
.not-run span{color:#57606a}
.src{color:#57606a;font-size:12px;margin:2px 0}
.note{color:#3d444d;max-width:900px}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#eff1f3;padding:1px 4px;border-radius:3px}
`;

/** The whole page: title, table of contents, the sections; no external resource of any kind. */
export function page(title: string, subtitle: string, sections: readonly Section[]): string {
  const nav = sections.map((s) => `<a href="#${esc(s.id)}">${esc(s.title)}</a>`).join("");
  const body = sections
    .map(
      (s) =>
        `<section id="${esc(s.id)}" data-present="${s.present}">\n<h2>${esc(s.title)}</h2>\n${s.html}\n</section>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>${esc(title)}</h1>
<p class="meta">${esc(subtitle)}</p>
<nav>${nav}</nav>
${body}
</main>
</body>
</html>
`;
}
