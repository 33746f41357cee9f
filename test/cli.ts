/** Shared helpers for the end-to-end tests: the repository root and the CLI run as `npx ctxrec` runs it. */
import { spawnSync } from "node:child_process";
import path from "node:path";

export const repoRoot = path.resolve(import.meta.dirname, "..");

/** Runs `ctxrec ARGS…` through tsx in the repository root; returns status, stdout and stderr. */
export function ctxrec(args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", path.join(repoRoot, "src/cli/main.ts"), ...args], {
    cwd: repoRoot,
    encoding: "utf8",
  });
}
