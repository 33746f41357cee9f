/**
 * `ctxrec data stats` (counts, sequence lengths, density and the DataReport of a data set) and
 * `ctxrec data compile` (write the binary artifact that `--format artifact` reloads).
 */
import type { Command } from "commander";
import { saveDataset } from "../../data/artifact.ts";
import type { CompiledDataset } from "../../data/dataset.ts";
import { loadDataset } from "../../data/load.ts";
import { type DatasetStats, datasetStats } from "../../data/stats.ts";
import { addDataOptions, type DataOptionValues, parseDataOptions } from "../dataOptions.ts";

const int = (n: number): string => n.toLocaleString("en-US");
const num = (n: number, digits = 2): string => n.toLocaleString("en-US", { maximumFractionDigits: digits });

async function load(opts: DataOptionValues): Promise<CompiledDataset> {
  const { args, stop } = parseDataOptions(opts);
  try {
    return await loadDataset(args);
  } finally {
    stop();
  }
}

/** The human-readable stats table. */
export function formatStats(s: DatasetStats, source: string): string {
  const r = s.report;
  const lines = [
    `data set: ${source}`,
    `users:              ${int(s.users)}`,
    `items:              ${int(s.items)}`,
    `events:             ${int(s.events)}`,
    `categories:         ${int(s.categories)} (${num(s.categoriesPerItem)} per item)`,
    `event types:        ${int(s.eventTypes)}`,
    `sequence length:    mean ${num(s.seqLen.mean)}, median ${num(s.seqLen.median)}, p90 ${int(s.seqLen.p90)}, min ${int(s.seqLen.min)}, max ${int(s.seqLen.max)}`,
    `density:            ${s.density.toPrecision(4)}`,
    "report:",
    `  invalid rows skipped:         ${int(r.invalidRows)}`,
    `  events with unknown item:     ${int(r.unknownItemEvents)}`,
    `  duplicate events dropped:     ${int(r.duplicateEvents)}`,
    `  users with a single event:    ${int(r.singleEventUsers)}`,
    `  users without events:         ${int(r.usersWithoutEvents)}`,
    `  users without a profile:      ${int(r.usersWithoutProfile)}`,
    `  items without events:         ${int(r.itemsWithoutEvents)}`,
    `  items without categories:     ${int(r.itemsWithoutCategories)}`,
    `  duplicate attributes merged:  ${int(r.duplicateAttributes)}`,
  ];
  if (r.invalidReasons.length > 0) {
    lines.push(`  first invalid rows:`);
    for (const reason of r.invalidReasons) lines.push(`    ${reason}`);
  }
  return `${lines.join("\n")}\n`;
}

export function registerDataCommand(program: Command): void {
  const data = program.command("data").description("read, check and compile data sets");

  addDataOptions(
    data
      .command("stats")
      .description("print users, items, events, categories, sequence lengths, density and what was skipped"),
  )
    .option("--json", "print the statistics as JSON")
    .action(async (opts: DataOptionValues & { json?: boolean }) => {
      const ds = await load(opts);
      const stats = datasetStats(ds);
      if (opts.json) process.stdout.write(`${JSON.stringify({ source: ds.source, ...stats }, null, 2)}\n`);
      else process.stdout.write(formatStats(stats, `${ds.source.format} ${ds.source.path}`));
    });

  addDataOptions(
    data
      .command("compile")
      .description("read a data set and write its binary artifact (reload with --format artifact)"),
  )
    .requiredOption("--out <file>", "artifact file to write (atomically)")
    .action(async (opts: DataOptionValues & { out: string }) => {
      const ds = await load(opts);
      saveDataset(ds, opts.out);
      const s = datasetStats(ds);
      process.stdout.write(
        `wrote ${opts.out}: ${int(s.users)} users, ${int(s.items)} items, ${int(s.events)} events\n`,
      );
    });
}
