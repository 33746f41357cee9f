/**
 * `npm run bench:train`: trains the reference model of issue 3 (B=256, d=64, 2 layers, 2 heads,
 * FFN 256, in-batch softmax, Adam; lazy Adam on the item table) on random data for a fixed number
 * of steps at several vocabulary sizes and history lengths, each in its own process, and the same
 * model in PyTorch (bench/reference/train_torch.py) side by side when `/usr/bin/python3 -c "import
 * torch"` works. Writes bench/results/train.json and bench/results/train.md. A benchmark, not a test.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
// workers > 1: data-parallel over worker threads (src/engine/dataParallel.ts), same model and batch.
const configs = [
  { vocab: 3_700, L: 50, steps: 5, warmup: 1 },
  { vocab: 3_700, L: 50, steps: 5, warmup: 1, workers: 2 },
  { vocab: 100_000, L: 50, steps: 5, warmup: 1 },
  { vocab: 1_000_000, L: 50, steps: 5, warmup: 1 },
  { vocab: 3_700, L: 200, steps: 3, warmup: 1 },
  { vocab: 1_000_000, L: 200, steps: 3, warmup: 1 },
];
const TORCH_THREADS = 2;

type Row = Record<string, number | string>;

function lastJsonLine(text: string): Row {
  const line = text
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .pop();
  if (line === undefined) throw new Error(`no result line in:\n${text}`);
  return JSON.parse(line) as Row;
}

function torchAvailable(): string | undefined {
  for (const py of ["/usr/bin/python3", "python3"]) {
    const r = spawnSync(py, ["-c", "import torch"], { encoding: "utf8" });
    if (r.status === 0) return py;
  }
  return undefined;
}

const python = torchAvailable();
if (python === undefined) {
  console.error(
    "bench:train: PyTorch not found (/usr/bin/python3 -c 'import torch' failed); skipping the PyTorch side. " +
      "Install with: apt-get install -y python3-torch libopenblas0-openmp",
  );
}

const results: { ctxrec: Row; torch?: Row; torchShared?: boolean }[] = [];
for (const c of configs) {
  const args = [String(c.vocab), String(c.L), String(c.steps), String(c.warmup)];
  const workers = c.workers ?? 1;
  // The machine is shared: the 1-minute load average when each configuration starts goes in its row.
  const load = os.loadavg()[0];
  process.stderr.write(`bench:train vocab=${c.vocab} L=${c.L} workers=${workers}: ctxrec…`);
  let ours: Row;
  try {
    ours = lastJsonLine(
      execFileSync(process.execPath, ["--import", "tsx", "bench/trainRun.ts", ...args, String(workers)], {
        cwd: root,
        encoding: "utf8",
        maxBuffer: 1 << 24,
        stdio: ["ignore", "pipe", "pipe"],
      }),
    );
  } catch (err) {
    // A failed configuration is a result too (e.g. the wasm heap running out): record it.
    const text = String((err as { stderr?: string }).stderr ?? err);
    const reason = /RuntimeError: [^\n]*|CTXREC_ERR_[A-Z_]+: [^\n]*/.exec(text)?.[0] ?? "failed";
    ours = { engine: `tfjs-wasm (ctxrec engine) FAILED: ${reason.slice(0, 80)}`, vocab: c.vocab, L: c.L };
  }
  let torch: Row | undefined;
  // PyTorch runs once per shape (the data-parallel row is compared with the same shape's run).
  const sameShape = results.find(
    (r) => r.ctxrec.vocab === c.vocab && r.ctxrec.L === c.L && r.torch !== undefined,
  );
  if (sameShape !== undefined) torch = sameShape.torch;
  else if (python !== undefined) {
    process.stderr.write(" pytorch…");
    torch = lastJsonLine(
      execFileSync(python, ["bench/reference/train_torch.py", ...args, String(TORCH_THREADS)], {
        cwd: root,
        encoding: "utf8",
      }),
    );
  }
  process.stderr.write(" done\n");
  ours.load = load;
  results.push({ ctxrec: ours, torch, torchShared: sameShape !== undefined });
}

const f = (x: number | string | undefined, digits = 1) =>
  typeof x === "number" ? x.toFixed(digits) : (x ?? "–");
const header = [
  "| vocab | L | engine | seq/s | steps/s | ms/step | CPU ms/step | fwd ms | bwd ms | opt ms | matmul GFLOP/s | peak RSS MB | load | torch/ctxrec |",
  "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
];
const lines = results.flatMap(({ ctxrec, torch, torchShared }) => {
  const ratio = torch === undefined ? "–" : (Number(torch.seqPerS) / Number(ctxrec.seqPerS)).toFixed(2);
  const row = (r: Row, ratioCell: string) =>
    `| ${r.vocab} | ${r.L} | ${r.engine} | ${f(r.seqPerS)} | ${f(r.stepsPerS, 2)} | ${f(r.msPerStep, 0)} | ${f(r.cpuMsPerStep, 0)} | ${f(r.forwardMs, 0)} | ${f(r.backwardMs, 0)} | ${f(r.optimizerMs, 0)} | ${f(r.matmulGflops)} | ${f(r.peakRssMB, 0)} | ${f(r.load, 2)} | ${ratioCell} |`;
  return [row(ctxrec, ratio), ...(torch === undefined || torchShared === true ? [] : [row(torch, "")])];
});
const machine = `${os.cpus()[0]?.model ?? "?"} × ${os.cpus().length}, Node ${process.version}, load average ${os.loadavg()[0].toFixed(2)} at the end`;
const md = [
  "# Training benchmark (`npm run bench:train`)",
  "",
  `Reference model: B=256, d=64, 2 layers, 2 heads, FFN 256, in-batch softmax, Adam (lazy Adam on the item table). ${machine}.`,
  python === undefined
    ? "PyTorch: not installed, skipped."
    : `PyTorch: ${python}, ${TORCH_THREADS} threads, same run.`,
  "CPU ms/step: user + system CPU time of the process (all its threads) per step; it is less",
  "sensitive than wall time to other jobs on the machine. A data-parallel row's ratio uses the",
  "PyTorch run of the same shape above it. load: 1-minute load average when the row started.",
  "",
  ...header,
  ...lines,
  "",
];
writeFileSync(
  new URL("./results/train.json", import.meta.url),
  `${JSON.stringify({ machine, results }, null, 2)}\n`,
);
writeFileSync(new URL("./results/train.md", import.meta.url), md.join("\n"));
console.log(md.join("\n"));
