/**
 * ONNX inference benchmark (issue #5):
 *  1. the sequence encoder, users/s at B = 512, L = 50 (every row full), d = 64, 2 blocks, on a
 *     random model, in onnxruntime-node with 1 and 2 intra-op threads, side by side with PyTorch
 *     (bench/reference/encode_torch.py, same architecture, 2 threads) when `/usr/bin/python3 -c
 *     "import torch"` works. Both sides run twice: "full" (every block over every position, the
 *     plain implementation) and "last" (the last block for the returned position only, what the
 *     exported graph does);
 *  2. the online tower (context layer + fusion head, default config) at batch 1: p50/p99 µs per
 *     call through the runtime (validation + ORT), against the same math in tfjs-wasm.
 * Writes bench/results/encode.json and encode.md. A benchmark, not a test; run on a quiet machine:
 *   npm run bench:encode [-- --seconds 5 --items 10000 --online-calls 20000]
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "../src/core/rng.ts";
import { initEngine } from "../src/engine/backend.ts";
import { contextLayer } from "../src/model/contextLayer.ts";
import { fuse } from "../src/model/fusion.ts";
import { disposeModel } from "../src/model/model.ts";
import { buildEncoderGraph } from "../src/onnx/encoder.ts";
import { buildOnnxExport, itemTableOf } from "../src/onnx/export.ts";
import { openOnnxGraphs } from "../src/onnx/runtime.ts";
import { randomContext, randomDemographics, randomHistories, randomModel } from "../src/onnx/testModels.ts";

const { values: opt } = parseArgs({
  options: {
    batch: { type: "string", default: "512" },
    len: { type: "string", default: "50" },
    dim: { type: "string", default: "64" },
    blocks: { type: "string", default: "2" },
    items: { type: "string", default: "10000" },
    seconds: { type: "string", default: "5" },
    "online-calls": { type: "string", default: "20000" },
  },
});
const B = Number(opt.batch);
const L = Number(opt.len);
const D = Number(opt.dim);
const BLOCKS = Number(opt.blocks);
const N = Number(opt.items);
const SECONDS = Number(opt.seconds);
const CALLS = Number(opt["online-calls"]);
const HEADS = 2;
const FFN = 4 * D;
const log = (s: string) => process.stderr.write(`[bench:encode] ${s}\n`);
const repoRoot = path.resolve(import.meta.dirname, "..");
const round = (x: number, digits = 1) => Number(x.toFixed(digits));
const quantile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const loadStart = os.loadavg();

// ---- 1. encoder ------------------------------------------------------------------------------
await initEngine();
const m = randomModel({
  config: { encoder: { dim: D, blocks: BLOCKS, heads: HEADS, ffn: FFN, maxLen: L } },
  items: N,
  categories: 100,
});
const { graphs, manifest } = await buildOnnxExport(m, "bench");
const itemTable = await itemTableOf(graphs.itemTower, m);
const x = randomHistories(
  m,
  Array.from({ length: B }, () => L),
  new Rng(3),
);

interface EncodeRow {
  engine: string;
  mode: "full" | "last";
  threads: number;
  usersPerSecond: number;
  msPerBatch: number;
  batches: number;
}
const encodeRows: EncodeRow[] = [];

for (const mode of ["full", "last"] as const) {
  const encoder =
    mode === "last" ? graphs.encoder : buildEncoderGraph(m, itemTable, { lastPositionOnly: false });
  for (const threads of [1, 2]) {
    const onnx = await openOnnxGraphs({ ...graphs, encoder }, manifest, "bench", { threads });
    for (let i = 0; i < 3; i++) await onnx.encoder.encode(x);
    const times: number[] = [];
    const start = performance.now();
    while (performance.now() - start < SECONDS * 1000 || times.length < 5) {
      const t0 = performance.now();
      await onnx.encoder.encode(x);
      times.push(performance.now() - t0);
    }
    await onnx.close();
    const ms = quantile(times, 0.5);
    encodeRows.push({
      engine: "onnxruntime-node",
      mode,
      threads,
      usersPerSecond: round((B / ms) * 1000, 0),
      msPerBatch: round(ms, 2),
      batches: times.length,
    });
    log(`ORT ${mode} ${threads} thread(s): ${round((B / ms) * 1000, 0)} users/s`);
  }
}

function torchPython(): { python?: string; reason?: string } {
  for (const py of ["/usr/bin/python3", "python3"]) {
    const r = spawnSync(py, ["-c", "import torch"], { encoding: "utf8" });
    if (r.status === 0) return { python: py };
  }
  return { reason: "PyTorch not found (/usr/bin/python3 -c 'import torch' failed)" };
}
const { python, reason: torchSkipped } = torchPython();
let torchVersion: string | undefined;
if (python === undefined) log(`${torchSkipped}; skipping the PyTorch column`);
else {
  // 1 thread as well: PyTorch's OpenMP threads spin-wait, which collapses on a loaded 2-core machine.
  for (const [mode, threads] of [
    ["full", 2],
    ["last", 2],
    ["full", 1],
    ["last", 1],
  ] as const) {
    const args = ["--batch", B, "--len", L, "--dim", D, "--blocks", BLOCKS, "--heads", HEADS, "--ffn", FFN];
    const r = spawnSync(
      python,
      [
        path.join(repoRoot, "bench/reference/encode_torch.py"),
        ...args.map(String),
        ...["--items", String(N), "--threads", String(threads), "--seconds", String(SECONDS), "--mode", mode],
      ],
      { encoding: "utf8" },
    );
    if (r.status !== 0) throw new Error(`encode_torch.py failed: ${r.stderr}`);
    const row = JSON.parse(r.stdout.trim().split("\n").at(-1) as string);
    torchVersion = row.torch;
    encodeRows.push({
      engine: "pytorch",
      mode,
      threads,
      usersPerSecond: round(row.usersPerSecond, 0),
      msPerBatch: round(row.msPerBatch, 2),
      batches: row.batches,
    });
    log(`PyTorch ${mode} ${threads} thread(s): ${round(row.usersPerSecond, 0)} users/s`);
  }
}

// ---- 2. online tower at batch 1 --------------------------------------------------------------
const onnx = await openOnnxGraphs(graphs, manifest, "bench");
const rng = new Rng(5);
const requests = Array.from({ length: 64 }, () => ({
  B: 1,
  h: Float32Array.from({ length: D }, () => rng.normal()),
  context: randomContext(1, 4, m.sizes.categories, rng),
  demographics: randomDemographics(m, 1, rng),
}));

async function latencies(call: (i: number) => unknown): Promise<number[]> {
  for (let i = 0; i < Math.min(2000, CALLS); i++) await call(i);
  const us: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const t0 = process.hrtime.bigint();
    await call(i);
    us.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return us;
}
const ortUs = await latencies((i) => onnx.online.embed(requests[i % requests.length]));
await onnx.close();
const context = m.context as NonNullable<typeof m.context>;
const tfjsUs = await latencies((i) => {
  const r = requests[i % requests.length];
  return tf.tidy(() => {
    const c = contextLayer(context, r.context, r.demographics, undefined);
    return fuse(m.fusion, tf.tensor3d(r.h, [1, 1, D]), c).dataSync();
  });
});
disposeModel(m);
const onlineRows = [
  { engine: "onnxruntime-node (ctxrec runtime, 1 thread)", us: ortUs },
  { engine: `tfjs-${tf.getBackend()}`, us: tfjsUs },
].map(({ engine, us }) => ({
  engine,
  p50Us: round(quantile(us, 0.5)),
  p99Us: round(quantile(us, 0.99)),
  meanUs: round(us.reduce((a, b) => a + b, 0) / us.length),
  calls: us.length,
}));
for (const r of onlineRows) log(`online ${r.engine}: p50 ${r.p50Us} µs, p99 ${r.p99Us} µs`);

// ---- report ----------------------------------------------------------------------------------
const loadEnd = os.loadavg();
const torchFull = encodeRows.find((r) => r.engine === "pytorch" && r.mode === "full");
const ratio = (r: EncodeRow) => {
  const ref = encodeRows.find((t) => t.engine === "pytorch" && t.mode === r.mode && t.threads === 2);
  return ref ? `${(r.usersPerSecond / ref.usersPerSecond).toFixed(2)}×` : "–";
};
const result = {
  bench: "encode",
  createdAt: new Date().toISOString(),
  machine: {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    loadAverageStart: loadStart,
    loadAverageEnd: loadEnd,
  },
  encoder: {
    B,
    L,
    d: D,
    blocks: BLOCKS,
    heads: HEADS,
    ffn: FFN,
    items: N,
    seconds: SECONDS,
    rows: encodeRows,
  },
  torch: torchVersion ?? null,
  torchSkipped: torchSkipped ?? null,
  online: {
    batch: 1,
    dim: D,
    contextK: 4,
    config: "defaults (mean projection, 3 demographic fields)",
    rows: onlineRows,
  },
};
const md = [
  "# bench:encode (ONNX inference)",
  "",
  `Command: \`npm run bench:encode\` · ${result.createdAt} · ${result.machine.cpus} CPUs (${result.machine.cpu}) · load average ${loadStart.map((l) => l.toFixed(2)).join(" ")} at start, ${loadEnd.map((l) => l.toFixed(2)).join(" ")} at the end`,
  "",
  `## Sequence encoder: B = ${B}, L = ${L} (every row full), d = ${D}, ${BLOCKS} blocks, ${HEADS} heads, FFN ${FFN}, ${N} items`,
  "",
  '"full": every block over every position; "last": the last block for the returned position only (the exported graph). Median of ≥ 5 batches over ' +
    `${SECONDS} s.`,
  "",
  "| engine | mode | threads | users/s | ms/batch | vs PyTorch 2 threads (same mode) |",
  "|---|---|---|---|---|---|",
  ...encodeRows.map(
    (r) => `| ${r.engine} | ${r.mode} | ${r.threads} | ${r.usersPerSecond} | ${r.msPerBatch} | ${ratio(r)} |`,
  ),
  ...(torchSkipped ? ["", `PyTorch column skipped: ${torchSkipped}.`] : []),
  ...(torchFull
    ? ["", `PyTorch ${torchVersion} (bench/reference/encode_torch.py); the goal compares with 2 threads.`]
    : []),
  "",
  `## Online tower at batch 1 (context layer + fusion head, d = ${D}, k = 4, ${CALLS} calls after warm-up)`,
  "",
  "| engine | p50 µs | p99 µs | mean µs |",
  "|---|---|---|---|",
  ...onlineRows.map((r) => `| ${r.engine} | ${r.p50Us} | ${r.p99Us} | ${r.meanUs} |`),
  "",
].join("\n");
writeFileSync(path.join(repoRoot, "bench/results/encode.json"), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(path.join(repoRoot, "bench/results/encode.md"), md);
process.stdout.write(md);
