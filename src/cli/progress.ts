/**
 * Progress bars for long CLI work. Drawn on stderr only when it is a terminal, so logs and CI
 * output stay clean; stdout keeps the results.
 */
import cliProgress from "cli-progress";

/** A counter-style progress report: call `update(done, total)` as work advances, `stop()` at the end. */
export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

/** A bar labelled `label` counting `unit`s, or a no-op when stderr is not a terminal. */
export function progressBar(label: string, unit: string): Progress {
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | ETA {eta_formatted}`,
      fps: 5,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      if (!started) {
        bar.start(total, 0);
        started = true;
      }
      bar.update(done);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
