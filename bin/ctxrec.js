#!/usr/bin/env node
// Production start: runs the compiled CLI (`npm run build` → dist/) when it exists and is at least
// as new as every TypeScript source, so a server does not compile TypeScript at start-up (the
// start-up times of both paths are in docs/serving.md). Otherwise, as on a clean clone, it runs the
// sources through tsx: `npx ctxrec` works without a build step, and a stale build is never run.
// CTXREC_FROM_SOURCE=1 forces the sources.
import { existsSync, readdirSync, statSync } from "node:fs";

const root = new URL("../", import.meta.url);
const compiled = new URL("dist/src/cli/main.js", root);

/** Newest modification time (ms) of the .ts files under `dir` (a file: URL ending in /). */
function newestSourceMs(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const url = new URL(entry.isDirectory() ? `${entry.name}/` : entry.name, dir);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMs(url));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(url).mtimeMs);
  }
  return newest;
}

const useBuild =
  process.env.CTXREC_FROM_SOURCE !== "1" &&
  existsSync(compiled) &&
  statSync(compiled).mtimeMs >= newestSourceMs(new URL("src/", root));
if (useBuild) {
  await import(compiled.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/cli/main.ts");
}
