/**
 * Named, timed stages of a pipeline (the demo, the ablation bench). Each stage reports its own
 * progress through `StageHooks`, so the CLI can draw one bar per stage and the pipeline stays free
 * of terminal code; the timings end up in the run's JSON record.
 */

/** Progress of the running stage: `done` of `total` units (users, items, seconds of budget, …). */
export type StageProgress = (done: number, total: number) => void;

/** How a caller watches the stages (all optional). */
export interface StageHooks {
  /** A stage begins: its index (1-based), the number of stages, its name and the unit of its progress. */
  onStageStart?: (info: { index: number; count: number; name: string; unit: string }) => void;
  /** The running stage advanced. */
  onProgress?: StageProgress;
  /** A stage ended after `seconds`, with a one-line summary for the log. */
  onStageEnd?: (info: { name: string; seconds: number; summary: string }) => void;
}

/** One finished stage. */
export interface StageTiming {
  name: string;
  seconds: number;
  summary: string;
}

/** What a stage function returns: its value and a one-line summary. */
export interface StageOutcome<T> {
  value: T;
  summary: string;
}

/** Runs stages in order, timing each; `timings` lists the finished ones. */
export interface StageRunner {
  run<T>(name: string, unit: string, fn: (progress: StageProgress) => Promise<StageOutcome<T>>): Promise<T>;
  readonly timings: StageTiming[];
}

/** A runner for `count` stages reporting to `hooks`. */
export function createStageRunner(count: number, hooks: StageHooks = {}): StageRunner {
  const timings: StageTiming[] = [];
  return {
    timings,
    async run(name, unit, fn) {
      hooks.onStageStart?.({ index: timings.length + 1, count, name, unit });
      const started = performance.now();
      const { value, summary } = await fn((done, total) => hooks.onProgress?.(done, total));
      const seconds = (performance.now() - started) / 1000;
      timings.push({ name, seconds, summary });
      hooks.onStageEnd?.({ name, seconds, summary });
      return value;
    },
  };
}

/**
 * A progress callback for work done in several passes that each count from 0 (the funnel runs
 * once per surface): `done` never goes back; the total grows by each finished pass.
 */
export function acrossPasses(progress: StageProgress): StageProgress {
  let offset = 0;
  let lastDone = 0;
  let lastTotal = 0;
  return (done, total) => {
    if (done < lastDone) offset += lastTotal;
    lastDone = done;
    lastTotal = total;
    progress(offset + done, offset + total);
  };
}
