/**
 * The ablation section: the rows of `npm run bench:ablations` as one table grouped by the knob
 * varied (value and Δ against the group's default, each with its 95% interval where given), and a
 * chart of the deltas.
 */
import { deltaChart, renderSvg } from "../charts.ts";
import type { Sourced } from "../discover.ts";
import { esc, figure, notRunYet, type Section, sources, table, withInterval } from "../html.ts";
import type { AblationRow, AblationsFile } from "../inputs.ts";

export const ABLATIONS_COMMAND = "npm run bench:ablations";

/** Rows grouped by `group` (groups and rows in file order). */
export function groupRows(rows: readonly AblationRow[]): Map<string, AblationRow[]> {
  const out = new Map<string, AblationRow[]>();
  for (const r of rows) {
    const g = out.get(r.group);
    if (g === undefined) out.set(r.group, [r]);
    else g.push(r);
  }
  return out;
}

async function fileBlock({ file, data }: Sourced<AblationsFile>, index: number): Promise<string> {
  const parts: string[] = [];
  const prov = [
    data.preset !== undefined ? `world preset ${data.preset}` : undefined,
    data.seeds !== undefined ? `seeds ${data.seeds.join(", ")}` : undefined,
    data.minutesPerRun !== undefined ? `${data.minutesPerRun} min per training` : undefined,
    data.resamples !== undefined ? `${data.resamples} bootstrap resamples` : undefined,
    data.staleCutoffSeconds !== undefined
      ? `stale/… metrics at a ${data.staleCutoffSeconds / 3600} h cut-off`
      : undefined,
    data.machine?.cpus !== undefined ? `${data.machine.cpus} CPUs` : undefined,
    data.createdAt,
  ].filter((x): x is string => x !== undefined);
  if (prov.length > 0) parts.push(`<p class="note">${esc(prov.join(" · "))}</p>`);
  const rows: string[][] = [];
  for (const [group, list] of groupRows(data.rows)) {
    for (const r of list) {
      rows.push([
        group,
        r.variant,
        r.metric,
        withInterval(r.value, r.low, r.high),
        r.delta === null || r.delta === undefined ? "—" : withInterval(r.delta, r.deltaLow, r.deltaHigh),
      ]);
    }
  }
  parts.push(table(["group", "variant", "metric", "value [95%]", "Δ vs default [95%]"], rows, 3));
  const deltas = data.rows
    .filter((r) => r.delta !== null && r.delta !== undefined && Number.isFinite(r.delta))
    .map((r) => ({
      label: `${r.group}: ${r.variant}`,
      metric: r.metric,
      delta: r.delta as number,
      low: r.deltaLow ?? null,
      high: r.deltaHigh ?? null,
    }));
  if (deltas.length > 0) {
    const svg = await renderSvg(deltaChart("ablation deltas (vs each group's default)", deltas));
    parts.push(
      `<div class="charts">${figure(`ablations-${index}`, svg, "Δ per variant, bar: 95% interval")}</div>`,
    );
  }
  parts.push(sources([file]));
  return parts.join("\n");
}

export async function ablationsSection(files: readonly Sourced<AblationsFile>[]): Promise<Section> {
  const blocks: string[] = [];
  if (files.length === 0) blocks.push(notRunYet(ABLATIONS_COMMAND, "no ablations.json found"));
  for (let i = 0; i < files.length; i++) blocks.push(await fileBlock(files[i], i));
  return { id: "ablations", title: "Ablations", present: files.length > 0, html: blocks.join("\n") };
}
