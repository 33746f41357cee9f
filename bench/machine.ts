/**
 * What every benchmark records beside its figures, and how it writes them: the machine (Node,
 * cores, CPU model), the 1-minute load average (the machine may be shared: a figure measured under
 * load says so), and bench/results/NAME.json + NAME.md.
 */
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const resultsDir = path.resolve(import.meta.dirname, "results");

/** The machine a figure was measured on. */
export interface MachineInfo {
  node: string;
  cpus: number;
  cpu: string;
}

export function machineInfo(): MachineInfo {
  return { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? "?" };
}

/** The 1-minute load average, 2 decimals. */
export const load1 = (): number => Number(os.loadavg()[0].toFixed(2));

/** Writes bench/results/NAME.json (`json`, pretty) and NAME.md (`md`), and prints the markdown. */
export function writeResults(name: string, json: unknown, md: string): void {
  writeFileSync(path.join(resultsDir, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(path.join(resultsDir, `${name}.md`), md);
  process.stdout.write(md);
}
