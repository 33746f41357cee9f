/**
 * Named flag sets of `ctxrec train --preset NAME`. A preset gives values to options the command
 * line left at their defaults; an option given on the command line wins, so a preset is a starting
 * point, not a lock. Values are the options' own strings (what a user would type), so a preset is
 * exactly a documented flag set.
 *
 * - `shopping-cg`: the Shopping Conversion CG of the original system (issue #14), the sibling of
 *   the contextual CG in the funnel: no context layer, DCNv2 cross layers beside the MLP in the
 *   user head and the item tower, and the advertiser-level loss at weight 0.1 where the catalogue
 *   names advertisers. The engagement auxiliary needs the data's event-type names, so it is left
 *   to `--engagement-types` (the synthetic world: `page_visit,add_to_cart`).
 */
import type { Command } from "commander";
import type { CompiledDataset } from "../data/dataset.ts";
import { advertiserGroups } from "../train/multiTask.ts";

export const TRAIN_PRESETS = ["shopping-cg"] as const;
export type TrainPreset = (typeof TRAIN_PRESETS)[number];

/** Option values (commander attribute name → value) of each preset. */
const PRESET_VALUES: Record<TrainPreset, Record<string, string | boolean>> = {
  "shopping-cg": { context: false, tower: "dcnv2", advertiserWeight: "0.1" },
};

/** Options a preset sets only when the data supports them (name → why not, or undefined). */
const DATA_CONDITIONS: Record<string, (ds: CompiledDataset) => string | undefined> = {
  advertiserWeight: (ds) => {
    const n = advertiserGroups(ds.itemAdvertiser).starts.length;
    return n >= 2 ? undefined : `the catalogue names ${n} advertiser(s), so the advertiser-level loss is off`;
  },
};

/**
 * Writes the values of `preset` into `opts` for every option the command line did not give
 * (`cmd.getOptionValueSource`); returns one note per preset value the data cannot take, which
 * then stays at its default.
 */
export function applyTrainPreset(
  preset: TrainPreset,
  opts: Record<string, unknown>,
  cmd: Command,
  ds: CompiledDataset,
): string[] {
  const notes: string[] = [];
  for (const [name, value] of Object.entries(PRESET_VALUES[preset])) {
    if (cmd.getOptionValueSource(name) === "cli") continue;
    const unsupported = DATA_CONDITIONS[name]?.(ds);
    if (unsupported !== undefined) {
      notes.push(`note: --preset ${preset}: ${unsupported}\n`);
      continue;
    }
    opts[name] = value;
  }
  return notes;
}
