/**
 * Finding and loading the result files of a runs folder.
 *
 * Discovery rule (documented in docs/report.md): every folder given is searched recursively
 * (hidden folders, `node_modules` and symbolic links are skipped) for files whose base name,
 * case-insensitively, matches one of
 *
 *   loo*.json        ctxrec eval --protocol loo --json FILE
 *   stale*.json      ctxrec eval --protocol stale-context --json FILE
 *   sweep*.json      ctxrec funnel-sweep … --out DIR (writes DIR/sweep.json)
 *   funnel*.json     ctxrec eval --protocol funnel --json FILE (one run; the demo's funnel.json)
 *   quality*.json    npm run bench:quality (bench/results/quality.json)
 *   serve*.json      npm run bench:serve (bench/results/serve.json, serve-quick.json)
 *   ablations*.json  npm run bench:ablations (bench/results/ablations.json)
 *
 * Every file found is validated (`parseInput`); one that does not fit stops the report with an
 * error naming the file and the field, rather than silently leaving a section out. Other files are
 * ignored.
 */
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { CtxrecError } from "../core/errors.ts";
import { type InputKind, type ParsedInput, parseInput } from "./inputs.ts";

/** Base-name patterns per input kind, in the order of the table above. */
export const INPUT_PATTERNS: Readonly<Record<InputKind, RegExp>> = {
  loo: /^loo.*\.json$/i,
  stale: /^stale.*\.json$/i,
  sweep: /^sweep.*\.json$/i,
  funnel: /^funnel.*\.json$/i,
  quality: /^quality.*\.json$/i,
  serve: /^serve.*\.json$/i,
  ablations: /^ablations.*\.json$/i,
};

/** Folders deeper than this below a runs folder are not searched (a guard, not a limit in practice). */
const MAX_DEPTH = 12;

/** A parsed input with where it came from. */
export interface Sourced<T> {
  /** Path of the file as found (the runs folder joined with the relative path). */
  file: string;
  data: T;
}

/** Everything a runs folder holds, per kind, each list sorted by path. */
export type RunInputs = { [K in InputKind]: Sourced<ParsedInput<K>>[] };

/** The kind a base name belongs to, or undefined when the report does not read it. */
export function inputKindOf(baseName: string): InputKind | undefined {
  for (const [kind, re] of Object.entries(INPUT_PATTERNS) as [InputKind, RegExp][]) {
    if (re.test(baseName)) return kind;
  }
  return undefined;
}

/** Files below `dir` (recursively) that the report reads, with their kinds, sorted by path. */
export function findInputFiles(dir: string): { file: string; kind: InputKind }[] {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(dir);
  } catch {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_MISSING_FILE",
      `runs folder ${dir} does not exist; pass the folder the eval/bench commands wrote their JSON into`,
      { param: "--runs" },
    );
  }
  if (!st.isDirectory()) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `${dir} is not a folder; pass the folder that holds the result JSON`,
      {
        param: "--runs",
      },
    );
  }
  const found: { file: string; kind: InputKind }[] = [];
  const walk = (d: string, depth: number) => {
    const entries = readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const p = path.join(d, e.name);
      // Dirent types come from lstat semantics: a symbolic link is neither a file nor a folder here,
      // so links (and loops through them) are skipped.
      if (e.isDirectory()) {
        if (e.name.startsWith(".") || e.name === "node_modules" || depth >= MAX_DEPTH) continue;
        walk(p, depth + 1);
      } else if (e.isFile()) {
        const kind = inputKindOf(e.name);
        if (kind !== undefined) found.push({ file: p, kind });
      }
    }
  };
  walk(dir, 0);
  return found.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/** An empty set of inputs. */
export function emptyInputs(): RunInputs {
  return { loo: [], stale: [], sweep: [], funnel: [], quality: [], serve: [], ablations: [] };
}

/** Finds, reads and validates every input below each of `dirs`. */
export function loadRunInputs(dirs: readonly string[]): RunInputs {
  const out = emptyInputs();
  const seen = new Set<string>();
  for (const dir of dirs) {
    for (const { file, kind } of findInputFiles(dir)) {
      const key = path.resolve(file);
      if (seen.has(key)) continue; // nested or repeated --runs folders
      seen.add(key);
      const data = parseInput(kind, file, readFileSync(file, "utf8"));
      // The kind and the parsed type agree by construction (parseInput<kind>).
      (out[kind] as Sourced<unknown>[]).push({ file, data });
    }
  }
  return out;
}
