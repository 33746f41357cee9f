/**
 * `ctxrec report`: reads the result JSON of a runs folder (discover.ts), builds one self-contained
 * HTML page (inline CSS and SVG charts, no script, no external resource) and writes it atomically.
 *
 * Sections, in page order: headline (Beauty, ours vs baseline vs published), sequential quality,
 * staleness, funnel sweep, ablations, serving latency. A section without inputs shows a visible
 * "not run yet: <command>" note instead of failing.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "../core/atomicFile.ts";
import { CtxrecError, wrapError } from "../core/errors.ts";
import { loadRunInputs, type RunInputs } from "./discover.ts";
import { page, type Section } from "./html.ts";
import { ablationsSection } from "./sections/ablations.ts";
import { funnelSection } from "./sections/funnel.ts";
import { headlineSection, qualitySection } from "./sections/quality.ts";
import { serveSection } from "./sections/serve.ts";
import { staleSection } from "./sections/stale.ts";

export interface BuildReportArgs {
  /** Page title. Default "ctxrec report". */
  title?: string;
  /** The runs folders, named in the subtitle. */
  runs?: readonly string[];
  /** When the report was generated (ISO string in the subtitle). Default: now. */
  generatedAt?: Date;
}

export interface BuiltReport {
  html: string;
  /** Section ids, titles and whether inputs fed them. */
  sections: { id: string; title: string; present: boolean }[];
  /** Number of charts (inline SVGs) on the page. */
  charts: number;
}

/** All sections from the inputs, in page order. */
export async function buildSections(inputs: RunInputs): Promise<Section[]> {
  return [
    headlineSection(inputs.loo, inputs.quality),
    qualitySection(inputs.loo, inputs.quality),
    await staleSection(inputs.stale),
    await funnelSection(inputs.sweep, inputs.funnel),
    await ablationsSection(inputs.ablations),
    await serveSection(inputs.serve),
  ];
}

/** The page for `inputs`. */
export async function buildReport(inputs: RunInputs, args: BuildReportArgs = {}): Promise<BuiltReport> {
  const sections = await buildSections(inputs);
  const files = Object.values(inputs).reduce((n, list) => n + list.length, 0);
  const when = (args.generatedAt ?? new Date()).toISOString();
  const runs = args.runs === undefined ? "" : ` from ${args.runs.join(", ")}`;
  const html = page(
    args.title ?? "ctxrec report",
    `generated ${when}${runs}: ${files} result file(s) read`,
    sections,
  );
  const charts = (html.match(/<figure class="chart"/g) ?? []).length;
  return { html, sections: sections.map(({ id, title, present }) => ({ id, title, present })), charts };
}

export interface WriteReportArgs extends BuildReportArgs {
  /** Folders searched recursively for result JSON (see discover.ts for the file names). */
  runs: readonly string[];
  /** The HTML file to write (its folder is created). */
  out: string;
}

export interface WrittenReport extends Omit<BuiltReport, "html"> {
  out: string;
  /** The input files read, by kind. */
  files: Record<keyof RunInputs, string[]>;
  bytes: number;
}

/** Reads the runs folders, builds the page and writes it to `out` atomically. */
export async function writeReport(args: WriteReportArgs): Promise<WrittenReport> {
  if (args.runs.length === 0) {
    throw new CtxrecError("CTXREC_ERR_ARG", "no runs folder given; pass --runs DIR (one or more)", {
      param: "--runs",
    });
  }
  const inputs = loadRunInputs(args.runs);
  const built = await buildReport(inputs, args);
  try {
    mkdirSync(path.dirname(path.resolve(args.out)), { recursive: true });
    writeFileAtomic(args.out, built.html);
  } catch (err) {
    throw wrapError("CTXREC_ERR_ARG", err, "check that --out names a writable file path", { param: "--out" });
  }
  const files = Object.fromEntries(
    Object.entries(inputs).map(([k, list]) => [k, (list as { file: string }[]).map((x) => x.file)]),
  ) as WrittenReport["files"];
  return {
    out: args.out,
    sections: built.sections,
    charts: built.charts,
    files,
    bytes: Buffer.byteLength(built.html),
  };
}
