/**
 * `ctxrec synth`: generates a synthetic Related-Items world folder (see docs/synthetic-world.md).
 * Options are parsed here into typed overrides; the generator validates their ranges.
 */
import type { Command } from "commander";
import { CtxrecError } from "../../core/errors.ts";
import { generateWorld } from "../../synth/generate.ts";
import { type ParamOverrides, PRESET_NAMES } from "../../synth/params.ts";
import { type WorldStats, worldStats } from "../../synth/stats.ts";
import type { WorldManifest } from "../../synth/types.ts";
import { formatCount, toNumber } from "../numbers.ts";
import { progressBar } from "../progress.ts";

interface SynthOptions {
  preset: string;
  seed: string;
  out: string;
  q?: string;
  r?: string;
  set: string[];
  force?: boolean;
  stats?: boolean;
  search?: boolean;
}

/** `--set name=value` pairs → overrides (names and ranges are checked by the generator). */
function parseSets(pairs: string[]): ParamOverrides {
  const out: Record<string, number> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) {
      throw new CtxrecError("CTXREC_ERR_ARG", `'${pair}' is not NAME=VALUE (e.g. --set users=5000)`, {
        param: "--set",
      });
    }
    const name = pair.slice(0, eq);
    out[name] = toNumber(pair.slice(eq + 1), name);
  }
  return out as ParamOverrides;
}

export function registerSynthCommand(program: Command): void {
  program
    .command("synth")
    .description("generate a synthetic Related-Items world (items, users, events, requests, truth)")
    .option("--preset <name>", `world size: ${PRESET_NAMES.join(" | ")}`, "small")
    .option("--seed <n>", "world seed (integer); same seed ⇒ byte-identical folder", "1")
    .requiredOption("--out <dir>", "folder to create (written atomically)")
    .option("--q <x>", "chance the current intent comes from the long-term interests, in [0, 1]")
    .option("--r <x>", "context strength: chance the next conversion comes from the intent, in [0, 1]")
    .option(
      "--set <name=value>",
      "override any generator parameter (repeatable; see docs/synthetic-world.md)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option("--force", "replace --out if it exists")
    .option("--stats", "read the world back and print its statistics")
    .option(
      "--search",
      "also write the Search surface (search.jsonl, search-lexicon.jsonl; docs/funnel-simulator.md)",
    )
    .action(async (opts: SynthOptions) => {
      const seed = toNumber(opts.seed, "--seed");
      const overrides: ParamOverrides = parseSets(opts.set);
      if (opts.q !== undefined) overrides.q = toNumber(opts.q, "--q");
      if (opts.r !== undefined) overrides.r = toNumber(opts.r, "--r");

      const bar = progressBar("synth", "users");
      const started = performance.now();
      const manifest = await generateWorld({
        preset: opts.preset,
        seed,
        overrides,
        outDir: opts.out,
        overwrite: opts.force ?? false,
        search: opts.search ?? false,
        onProgress: (done, total) => bar.update(done, total),
      }).finally(() => bar.stop());
      const seconds = (performance.now() - started) / 1000;
      process.stdout.write(formatWorldSummary(manifest, opts.out, seconds));
      if (opts.stats) process.stdout.write(formatWorldStats(await worldStats(opts.out)));
    });
}

/** One line: the world's preset, seed, q, r, folder and counts. */
export function formatWorldSummary(manifest: WorldManifest, out: string, seconds: number): string {
  const c = manifest.counts;
  return (
    `synth: ${manifest.preset} world (seed ${manifest.seed}, q ${manifest.params.q}, r ${manifest.params.r}) → ${out}: ` +
    `${formatCount(c.users)} users, ${formatCount(c.items)} items, ${formatCount(c.categories)} categories, ` +
    `${formatCount(c.events)} events, ${formatCount(c.requests)} requests in ${seconds.toFixed(1)} s\n`
  );
}

/** The world's learnability and context-signal statistics, one per line. */
export function formatWorldStats(s: WorldStats): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const lines = [
    `events/user: mean ${s.eventsPerUser.mean.toFixed(1)}, median ${s.eventsPerUser.median}, p90 ${s.eventsPerUser.p90}`,
    `items without category: ${formatCount(s.itemsWithoutCategory)}`,
    `events sharing a category with the previous one: ${pct(s.consecutiveSameCategory)} (5 back: ${pct(s.lag5SameCategory)}, other user: ${pct(s.crossUserSameCategory)})`,
    `next conversion carries the intent: ${pct(s.nextHasIntent)}; shares a category with the subject: ${pct(s.nextSharesSubjectCategory)}`,
    `next-item hit rate@${s.nextItemHitRate.k} (last event held out): popularity ${pct(s.nextItemHitRate.popularity)}, last-category ${pct(s.nextItemHitRate.lastCategory)}`,
  ];
  return `${lines.join("\n")}\n`;
}
