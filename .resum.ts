// One-off (not committed): adds the mean-relevance lift and the training record to a sweep.json
// written before those fields existed, with the same formula as modelLift / summarizeSweep.
import { readFileSync } from "node:fs";
import { writeJsonAtomic } from "./src/core/atomicFile.ts";
import { summarizeSweep } from "./src/funnel/sweepSummary.ts";
import { resolveModelConfig } from "./src/model/config.ts";
import { resolveTrainArgs } from "./src/train/trainArgs.ts";
const [file, out, scope, epochs, minutes] = process.argv.slice(2);
const s = JSON.parse(readFileSync(file, "utf8"));
for (const run of s.runs) {
  for (const surf of Object.values(run.surfaces) as any[]) {
    const c = surf.metrics["ctxrec"].relevance_mean, b = surf.metrics["ctxrec-baseline"].relevance_mean;
    surf.lift.relevance_mean_lift_pct = b > 0 ? (c / b - 1) * 100 : null;
  }
}
const { summary, lift } = summarizeSweep(s.runs, { rs: s.rs, seeds: s.seeds, surfaces: s.surfaces, cgs: s.cgs, k: s.k });
const { seed: _s, ...train } = resolveTrainArgs({ seed: 0, epochs: Number(epochs), maxMinutes: Number(minutes), contextLossScope: scope as "all" | "context" });
s.training ??= { contextualModel: resolveModelConfig({ context: { enabled: true } }), train };
s.summary = summary; s.lift = lift;
writeJsonAtomic(out, s);
