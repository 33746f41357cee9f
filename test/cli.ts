/** Shared helpers for the end-to-end tests: the repository root and the CLI run as `npx ctxrec` runs it. */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { Command } from "commander";
import { vi } from "vitest";

export const repoRoot = path.resolve(import.meta.dirname, "..");

/** Runs `ctxrec ARGS…` through tsx in the repository root; returns status, stdout and stderr. */
export function ctxrec(args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", path.join(repoRoot, "src/cli/main.ts"), ...args], {
    cwd: repoRoot,
    encoding: "utf8",
  });
}

/**
 * Runs `ctxrec ARGS…` in this process, with the commands `register` adds (no tsx start-up per
 * call, so many calls stay cheap): resolves to what it wrote on stdout; a CtxrecError rejects as
 * it would reach main.ts, and commander's own errors reject instead of exiting.
 */
export async function ctxrecInProcess(register: (program: Command) => void, args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  register(program);
  const out: string[] = [];
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((s) => {
    out.push(String(s));
    return true;
  });
  try {
    await program.parseAsync(["node", "ctxrec", ...args]);
  } finally {
    spy.mockRestore();
  }
  return out.join("");
}

/** `ctxrec serve ARGS…` as a child process (through tsx); resolves once it printed its address. */
export function startServe(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(repoRoot, "src/cli/main.ts"), "serve", ...args],
    {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stdout?.on("data", (b: Buffer) => {
      out += b.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.stderr?.on("data", (b: Buffer) => {
      err += b.toString();
    });
    child.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
}
