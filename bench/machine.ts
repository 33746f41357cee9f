/**
 * What every benchmark records beside its figures, and how it writes them: the machine (Node,
 * cores, CPU model), the 1-minute load average (the machine may be shared: a figure measured under
 * load says so), and bench/results/NAME.json + NAME.md.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
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

let clockTicks: number | undefined;

/**
 * CPU seconds (user + system) process `pid` has used so far, from /proc/PID/stat (Linux; NaN
 * elsewhere or once the process is gone). Fields 14 and 15 after the command name, in clock ticks.
 */
export function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may hold spaces: split after its closing one.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    clockTicks ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return Number.NaN;
  }
}

/** Writes bench/results/NAME.json (`json`, pretty) and NAME.md (`md`), and prints the markdown. */
export function writeResults(name: string, json: unknown, md: string): void {
  writeFileSync(path.join(resultsDir, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(path.join(resultsDir, `${name}.md`), md);
  process.stdout.write(md);
}
