/**
 * `ctxrec demo`: the main job on the embedded defaults, end to end with nothing to start by hand.
 * Today: generate the small synthetic world, print its statistics through the data layer (exactly
 * what `ctxrec data stats --format jsonl` reads), then run the funnel simulator with the reference
 * candidate generators. Later stages (train, encode, index, evaluate, report) join here.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { loadDataset } from "../../data/load.ts";
import { datasetStats } from "../../data/stats.ts";
import { runReferenceFunnel } from "../../funnel/referenceFunnel.ts";
import { generateWorld } from "../../synth/generate.ts";
import { readWorld } from "../../synth/read.ts";
import { worldStats } from "../../synth/stats.ts";
import { toNumber } from "../numbers.ts";
import { progressBar } from "../progress.ts";
import { formatStats } from "./data.ts";
import { formatFunnelSummary, writeFunnelJson } from "./funnel.ts";
import { formatWorldStats, formatWorldSummary } from "./synth.ts";

interface DemoOptions {
  out: string;
  seed: string;
  preset: string;
}

const elapsed = (since: number): number => (performance.now() - since) / 1000;

export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .description(
      "run the main job on the embedded defaults: synthetic world → data stats → funnel simulation",
    )
    .option("--out <dir>", "folder for everything the demo writes (replaced if it exists)", "runs/demo")
    .option("--seed <n>", "seed of the world and the simulation", "1")
    .option("--preset <name>", "world size (tiny for a first look in seconds)", "small")
    .action(async (opts: DemoOptions) => {
      const seed = toNumber(opts.seed, "--seed");
      const worldDir = path.join(opts.out, "world");
      await mkdir(opts.out, { recursive: true });
      const started = performance.now();

      process.stdout.write("== 1/3 synthetic Related-Items world\n");
      let t = performance.now();
      const synthBar = progressBar("synth", "users");
      const manifest = await generateWorld({
        preset: opts.preset,
        seed,
        outDir: worldDir,
        overwrite: true,
        onProgress: (done, total) => synthBar.update(done, total),
      }).finally(() => synthBar.stop());
      process.stdout.write(formatWorldSummary(manifest, worldDir, elapsed(t)));
      process.stdout.write(formatWorldStats(await worldStats(worldDir)));

      process.stdout.write(
        "\n== 2/3 the world's logs through the data layer (as `ctxrec data stats` reads them)\n",
      );
      const dataset = await loadDataset({ format: "jsonl", path: worldDir });
      process.stdout.write(formatStats(datasetStats(dataset), `jsonl ${worldDir}`));

      process.stdout.write("\n== 3/3 funnel simulation with the reference candidate generators\n");
      t = performance.now();
      const funnelBar = progressBar("funnel", "requests");
      const report = await runReferenceFunnel(await readWorld(worldDir), {
        seed,
        onProgress: (done, total) => funnelBar.update(done, total),
      }).finally(() => funnelBar.stop());
      process.stdout.write(formatFunnelSummary(report, worldDir, elapsed(t)));
      const jsonFile = path.join(opts.out, "funnel.json");
      writeFunnelJson(report, worldDir, jsonFile);

      process.stdout.write(
        `\ndemo done in ${elapsed(started).toFixed(1)} s: world in ${worldDir}, funnel metrics in ${jsonFile}\n`,
      );
    });
}
