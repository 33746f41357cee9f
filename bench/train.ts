/**
 * `npm run bench:train`: the trainer path of `ctxrec train` (the real model and stepper,
 * bench/trainRun.ts) at 1 and 2 threads beside the same model and loss in PyTorch
 * (bench/reference/train_torch.py) at 1 and 2 threads, each row in its own process, ≥ 30 timed
 * steps a row. Rows: full softmax over ~3,700 items; `--sampled` runs the sampled softmax over ~100k
 * items instead and appends its rows to train.json. Writes bench/results/train.json and train.md after every row (a cut run keeps
 * what it measured). A benchmark, not a test.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const STEPS = 30;
const WARMUP = 2;
const THREADS = [1, 2];
// --sampled: ONLY the sampled rows, appended to the rows already in train.json.
const sampledOnly = process.argv.includes("--sampled");
const shapes = sampledOnly ? [{ loss: "sampled", items: 100_000 }] : [{ loss: "full", items: 3_700 }];

interface Row {
  engine: string;
  loss: string;
  items: number;
  threads: number;
  stepMs: number[];
  cpuMsPerStep: number;
  peakRssMB: number;
  finalLoss: number;
  kernels?: { name: string; msPerStep: number }[];
  /** Added here: 1-minute load average when the row started. */
  load?: number;
  error?: string;
}

function lastJsonLine(text: string): Row {
  const line = text
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .pop();
  if (line === undefined) throw new Error(`no result line in:\n${text}`);
  return JSON.parse(line) as Row;
}

function torchPython(): string | undefined {
  const r = spawnSync("/usr/bin/python3", ["-c", "import torch"], { encoding: "utf8" });
  return r.status === 0 ? "/usr/bin/python3" : undefined;
}

/** Runs one row's process; a failure is a row too (its reason in `error`). */
function runRow(
  cmd: string,
  argv: string[],
  what: Omit<Row, "stepMs" | "cpuMsPerStep" | "peakRssMB" | "finalLoss">,
): Row {
  const load = os.loadavg()[0];
  process.stderr.write(
    `bench:train ${what.engine} ${what.loss} ${what.items} items, ${what.threads} threads (load ${load.toFixed(2)})…\n`,
  );
  try {
    const out = execFileSync(cmd, argv, {
      cwd: root,
      encoding: "utf8",
      maxBuffer: 1 << 24,
      stdio: ["ignore", "pipe", "pipe"],
    });
    return { ...lastJsonLine(out), load };
  } catch (err) {
    const text = String((err as { stderr?: string }).stderr ?? err);
    const reason =
      /RuntimeError: [^\n]*|CTXREC_ERR_[A-Z_]+: [^\n]*|Error: [^\n]*/.exec(text)?.[0] ?? "failed";
    return {
      ...what,
      stepMs: [],
      cpuMsPerStep: Number.NaN,
      peakRssMB: Number.NaN,
      finalLoss: Number.NaN,
      load,
      error: reason.slice(0, 120),
    };
  }
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const median = (r: Row) => quantile(r.stepMs, 0.5);

let commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
let dirty = execFileSync("git", ["status", "--porcelain"], { cwd: root, encoding: "utf8" }).trim() !== "";
let date = new Date().toISOString();
const machine = `${os.cpus()[0]?.model ?? "?"} × ${os.cpus().length}, Node ${process.version}`;
const python = torchPython();
let torchNote =
  python === undefined
    ? "PyTorch: NOT INSTALLED (`/usr/bin/python3 -c 'import torch'` failed): no PyTorch rows, no ratios."
    : `PyTorch: ${execFileSync(python, ["-c", "import torch; print(torch.__version__, torch.__config__.show().split('BLAS_INFO=')[1].split(',')[0])"], { encoding: "utf8" }).trim().replace(" ", " (BLAS_INFO=")}) from Debian's python3-torch, same run.`;
if (python === undefined) process.stderr.write(`bench:train: ${torchNote}\n`);

const rows: Row[] = [];
/** Where the sampled rows were added by a later `--sampled` run. */
let appended: { commit: string; date: string } | undefined;
// --render: rewrite train.md from train.json (after editing train-notes.md), running nothing.
const render = process.argv.includes("--render");
if (render) {
  const saved = JSON.parse(readFileSync(new URL("./results/train.json", import.meta.url), "utf8"));
  rows.push(...(saved.rows as Row[]));
  ({ commit, dirty, date, torch: torchNote, appended } = saved);
  write();
}
if (sampledOnly) {
  const saved = JSON.parse(readFileSync(new URL("./results/train.json", import.meta.url), "utf8"));
  rows.push(...(saved.rows as Row[]).filter((r) => r.loss !== "sampled"));
  appended = { commit, date };
  ({ commit, dirty, date } = saved);
}
for (const s of render ? [] : shapes) {
  for (const threads of THREADS) {
    const common = [String(STEPS), String(WARMUP)];
    rows.push(
      runRow(
        process.execPath,
        ["--import", "tsx", "bench/trainRun.ts", s.loss, String(s.items), String(threads), ...common],
        {
          engine: "ctxrec trainer",
          ...s,
          threads,
        },
      ),
    );
    if (python !== undefined) {
      rows.push(
        runRow(
          python,
          ["bench/reference/train_torch.py", s.loss, String(s.items), "50", ...common, String(threads)],
          {
            engine: "pytorch",
            ...s,
            threads,
          },
        ),
      );
    }
    write();
  }
}

/** train.json and train.md from the rows so far; the explanation (bench/results/train-notes.md) on top. */
function write(): void {
  const f = (x: number, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : "–");
  const isTorch = (r: Row) => r.engine.startsWith("pytorch");
  const peer = (r: Row, torch: boolean, threads = r.threads) =>
    rows.find(
      // One shape per loss (ctxrec's `items` counts the padding id 0: 3701 for 3,700).
      (o) => isTorch(o) === torch && o.loss === r.loss && o.threads === threads,
    );
  const table = rows.map((r) => {
    const torchPeer = isTorch(r) ? undefined : peer(r, true);
    const one = peer(r, isTorch(r), 1);
    const ratio = torchPeer === undefined ? "–" : f(median(r) / median(torchPeer), 2);
    const scaling = r.threads === 1 || one === undefined ? "–" : `${f(median(one) / median(r), 2)}×`;
    const engine = r.error === undefined ? r.engine : `${r.engine} FAILED: ${r.error}`;
    return `| ${r.loss} | ${r.items} | ${engine} | ${r.threads} | ${r.stepMs.length} | ${f(median(r))} | ${f(quantile(r.stepMs, 0.9))} | ${f(1000 / median(r), 2)} | ${f(r.cpuMsPerStep)} | ${f(r.peakRssMB)} | ${f(r.finalLoss, 3)} | ${f(r.load ?? Number.NaN, 2)} | ${ratio} | ${scaling} |`;
  });
  const profiled = rows.find((r) => r.kernels !== undefined);
  let notes = "";
  try {
    notes = readFileSync(new URL("./results/train-notes.md", import.meta.url), "utf8");
  } catch {
    // No notes yet: the tables alone.
  }
  const md = [
    "# Training benchmark (`npm run bench:train`)",
    "",
    notes,
    `Commit ${commit}${dirty ? " (with uncommitted changes)" : ""}, ${date}; ${machine} (the load column says how busy the cores were at each row's start)${appended === undefined ? "" : `; the sampled rows were added by \`--sampled\` at commit ${appended.commit}, ${appended.date}`}. ${torchNote}`,
    "",
    `Model and batch on both sides: B 256 rows × L 50 (12,800 target positions a step), d 64, 2 pre-norm`,
    "blocks, 2 heads, FFN 256, residual MLP head 128, dropout 0.5, Adam; ctxrec through its own stepper",
    "(`createStepper` at 1 thread, `startParallelStepper` at 2) on a synthetic toy-world data set. ms/step:",
    `median and p90 over the ${STEPS} timed steps after ${WARMUP} warm-up steps (wall time); CPU ms/step: the`,
    "process's user + system time per step (all threads); load: 1-minute load average when the row started.",
    "ctxrec/PyTorch: ratio of median ms/step at equal threads (> 1: ctxrec slower). 1→2: median at 1",
    "thread / median at 2 threads, same engine.",
    "",
    "| loss | items | engine | threads | steps | ms/step median | ms/step p90 | steps/s | CPU ms/step | peak RSS MB | last loss | load | ctxrec/PyTorch | 1→2 |",
    "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...table,
    "",
    ...(profiled?.kernels === undefined
      ? []
      : [
          `Kernel time per op of one profiled ctxrec step at 1 thread (tf.profile; ${profiled.loss} softmax, ${profiled.items} items):`,
          "",
          "| kernel | ms |",
          "|---|---:|",
          ...profiled.kernels.map((k) => `| ${k.name} | ${k.msPerStep} |`),
          "",
        ]),
  ];
  writeFileSync(
    new URL("./results/train.json", import.meta.url),
    `${JSON.stringify({ commit, dirty, date, appended, machine, torch: torchNote, steps: STEPS, warmup: WARMUP, rows }, null, 2)}\n`,
  );
  writeFileSync(new URL("./results/train.md", import.meta.url), md.join("\n"));
}
console.log(readFileSync(new URL("./results/train.md", import.meta.url), "utf8"));
