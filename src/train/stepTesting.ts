/** Test helper (not exported from the package): one prepared step of the first rows of a set-up. */
import { Rng } from "../core/rng.ts";
import { prepareStep, type StepInput, type StepSetup, stepSeed } from "./step.ts";

/** `prepareStep` of rows `rows` (default: the first `n`) at step `step` of the run's step seed. */
export function prepareRows(setup: StepSetup, n: number, step = 0, rows?: Int32Array): StepInput {
  const batch = rows ?? Int32Array.from({ length: n }, (_, r) => r);
  return prepareStep(setup, batch, { seed: stepSeed(setup.args), step, negatives: new Rng(1) });
}
