/**
 * Data-layer benchmark: parse time (readers + compilation) vs binary-artifact save and reload time
 * for MovieLens-100K and Amazon Beauty (with attributes). Median of REPS runs after one warm-up.
 * Writes bench/results/data.json and data.md. Run: `npm run bench:data` (needs ../shared/data).
 */
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadDatasetArtifact, saveDataset } from "../src/data/artifact.ts";
import { type LoadDatasetArgs, loadDataset } from "../src/data/load.ts";
import { datasetStats } from "../src/data/stats.ts";

const REPS = 5;
const repoRoot = path.resolve(import.meta.dirname, "..");
const dataDir = path.resolve(repoRoot, "../shared/data");
const sets: { name: string; args: LoadDatasetArgs }[] = [
  { name: "ml-100k", args: { format: "movielens-100k", path: path.join(dataDir, "ml-100k") } },
  {
    name: "amazon-beauty (+attributes)",
    args: {
      format: "s3rec",
      path: path.join(dataDir, "amazon-beauty/Beauty.txt"),
      attributes: path.join(dataDir, "amazon-beauty/Beauty_item2attributes.json"),
    },
  },
];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function time(fn: () => unknown | Promise<unknown>): Promise<number> {
  await fn(); // warm-up (JIT, file cache)
  const ms: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return median(ms);
}

const tmp = mkdtempSync(path.join(os.tmpdir(), "ctxrec-bench-data-"));
const rows = [];
try {
  for (const s of sets) {
    if (!existsSync(s.args.path)) {
      process.stderr.write(`skipping ${s.name}: ${s.args.path} not found\n`);
      continue;
    }
    const ds = await loadDataset(s.args);
    const st = datasetStats(ds);
    const file = path.join(tmp, "ds.ctxds");
    const parseMs = await time(() => loadDataset(s.args));
    const saveMs = await time(() => saveDataset(ds, file));
    const reloadMs = await time(() => loadDatasetArtifact(file));
    rows.push({
      dataset: s.name,
      users: st.users,
      items: st.items,
      events: st.events,
      parseMs: Number(parseMs.toFixed(1)),
      saveMs: Number(saveMs.toFixed(1)),
      reloadMs: Number(reloadMs.toFixed(1)),
      speedup: Number((parseMs / reloadMs).toFixed(1)),
      artifactBytes: statSync(file).size,
    });
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const meta = {
  node: process.version,
  cpus: os.cpus().length,
  cpu: os.cpus()[0]?.model ?? "?",
  reps: REPS,
  date: new Date().toISOString(),
};
const out = path.join(repoRoot, "bench/results");
writeFileSync(path.join(out, "data.json"), `${JSON.stringify({ ...meta, rows }, null, 2)}\n`);
const md = [
  `Data layer: parse vs artifact reload (median of ${REPS}, ${meta.cpus} CPUs, Node ${meta.node})`,
  "",
  "| data set | users | items | events | parse ms | save ms | reload ms | parse/reload | artifact bytes |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...rows.map(
    (r) =>
      `| ${r.dataset} | ${r.users} | ${r.items} | ${r.events} | ${r.parseMs} | ${r.saveMs} | ${r.reloadMs} | ${r.speedup}× | ${r.artifactBytes} |`,
  ),
];
writeFileSync(path.join(out, "data.md"), `${md.join("\n")}\n`);
process.stdout.write(`${md.join("\n")}\n`);
