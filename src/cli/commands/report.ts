/**
 * `ctxrec report --runs DIR [--runs DIR2 …] --out report.html [--title T]`: one self-contained
 * HTML page (inline SVG charts, no network needed to view it) from the result JSON found under the
 * runs folders (src/report; the file names read are listed in docs/report.md). Sections whose
 * results are absent say which command produces them.
 */
import type { Command } from "commander";

interface ReportOptions {
  runs: string[];
  out: string;
  title?: string;
}

export function registerReportCommand(program: Command): void {
  program
    .command("report")
    .description(
      "write a self-contained HTML report (quality vs published, staleness, funnel sweep, ablations, serving latency) from result JSON",
    )
    .requiredOption(
      "--runs <dirs...>",
      "folders searched recursively for loo*.json, stale*.json, sweep*.json, quality*.json, serve*.json, ablations*.json",
    )
    .requiredOption("--out <file>", "the HTML file to write (atomically)")
    .option("--title <text>", "page title (default: ctxrec report)")
    .action(async (opts: ReportOptions) => {
      // Loaded on use: Vega takes ≈2 s to import, which every other command would pay at start-up.
      const { writeReport } = await import("../../report/report.ts");
      const r = await writeReport({ runs: opts.runs, out: opts.out, title: opts.title });
      const read = Object.entries(r.files)
        .filter(([, list]) => list.length > 0)
        .map(([kind, list]) => `${kind} ${list.length}`);
      const missing = r.sections.filter((s) => !s.present).map((s) => s.id);
      process.stdout.write(
        `read ${read.length === 0 ? "no result files" : read.join(", ")}; ${r.charts} chart(s)` +
          (missing.length === 0 ? "" : `; not run yet: ${missing.join(", ")}`) +
          `\nwrote ${r.out} (${(r.bytes / 1024).toFixed(0)} KiB)\n`,
      );
    });
}
