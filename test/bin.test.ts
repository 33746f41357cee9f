/**
 * bin/ctxrec.js picks its entry: the compiled CLI when a build is present and at least as new as
 * every source, the TypeScript sources through tsx otherwise (a clean clone, a stale build, or
 * CTXREC_FROM_SOURCE=1). Checked on a scratch tree whose two entries only print which one ran.
 */
import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "./cli.ts";

const tree = mkdtempSync(path.join(os.tmpdir(), "ctxrec-bin-"));
afterAll(() => rmSync(tree, { recursive: true, force: true }));
mkdirSync(path.join(tree, "bin"));
mkdirSync(path.join(tree, "src/cli"), { recursive: true });
mkdirSync(path.join(tree, "src/model"), { recursive: true });
mkdirSync(path.join(tree, "dist/src/cli"), { recursive: true });
copyFileSync(path.join(repoRoot, "bin/ctxrec.js"), path.join(tree, "bin/ctxrec.js"));
symlinkSync(path.join(repoRoot, "node_modules"), path.join(tree, "node_modules"));
writeFileSync(path.join(tree, "package.json"), '{"type": "module"}\n');
writeFileSync(path.join(tree, "src/cli/main.ts"), 'const from: string = "sources";\nconsole.log(from);\n');
writeFileSync(path.join(tree, "src/model/deep.ts"), "export const x = 1;\n");
writeFileSync(path.join(tree, "dist/src/cli/main.js"), 'console.log("compiled");\n');

function entry(env: Record<string, string> = {}): string {
  return execFileSync(process.execPath, [path.join(tree, "bin/ctxrec.js")], {
    env: { ...process.env, CTXREC_FROM_SOURCE: "", ...env },
    encoding: "utf8",
  }).trim();
}

function setTime(file: string, secondsAgo: number): void {
  const t = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(path.join(tree, file), t, t);
}

describe("bin/ctxrec.js", () => {
  it("runs the build when it is newer than every source", () => {
    setTime("src/cli/main.ts", 100);
    setTime("src/model/deep.ts", 100);
    setTime("dist/src/cli/main.js", 10);
    expect(entry()).toBe("compiled");
  });

  it("runs the sources when any source (in a subfolder too) is newer than the build", () => {
    setTime("dist/src/cli/main.js", 10);
    setTime("src/model/deep.ts", 1);
    expect(entry()).toBe("sources");
  });

  it("runs the sources when CTXREC_FROM_SOURCE=1, even with a fresh build", () => {
    setTime("src/model/deep.ts", 100);
    setTime("dist/src/cli/main.js", 10);
    expect(entry({ CTXREC_FROM_SOURCE: "1" })).toBe("sources");
  });

  it("runs the sources when there is no build", () => {
    rmSync(path.join(tree, "dist"), { recursive: true });
    expect(entry()).toBe("sources");
  });
});
