/**
 * Kernel micro-benchmark: GFLOP/s of the matmul shapes a Transformer training step uses, with the
 * upstream wasm BatchMatMul and with ctxrec's patch (src/engine/kernels), and one full-softmax
 * loss step (forward + backward, Beauty's shape) with tfjs ops against the fused op
 * (src/engine/fullSoftmax.ts). Writes bench/results/kernels.json and kernels.md.
 * Run: `npx tsx bench/kernels.ts`.
 */
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import * as tf from "@tensorflow/tfjs-core";
import { initEngine } from "../src/engine/backend.ts";
import { withUpstreamBatchMatMul } from "../src/engine/kernels/index.ts";
import { compositeRowLosses, fullSoftmaxRowLosses } from "../src/train/lossFull.ts";

await initEngine();

interface Case {
  name: string;
  a: number[];
  b: number[];
  tA: boolean;
  tB: boolean;
}
const B = 256;
const L = 50;
const d = 64;
const H = 2;
const dh = d / H;
const cases: Case[] = [
  { name: "dense fwd [B,L,d]×[d,3d]", a: [B, L, d], b: [d, 3 * d], tA: false, tB: false },
  { name: "dense fwd 2-D [B·L,d]×[d,3d]", a: [B * L, d], b: [d, 3 * d], tA: false, tB: false },
  { name: "dense dX [B·L,3d]×[d,3d]ᵀ", a: [B * L, 3 * d], b: [d, 3 * d], tA: false, tB: true },
  { name: "dense dW [B·L,d]ᵀ×[B·L,3d]", a: [B * L, d], b: [B * L, 3 * d], tA: true, tB: false },
  { name: "attn QKᵀ [B·H,L,dh]×[B·H,L,dh]ᵀ", a: [B * H, L, dh], b: [B * H, L, dh], tA: false, tB: true },
  { name: "attn PV [B·H,L,L]×[B·H,L,dh]", a: [B * H, L, L], b: [B * H, L, dh], tA: false, tB: false },
  { name: "attn dP-style [B·H,L,L]ᵀ×[B·H,L,dh]", a: [B * H, L, L], b: [B * H, L, dh], tA: true, tB: false },
  { name: "scores [B,d]×[B,d]ᵀ", a: [B, d], b: [B, d], tA: false, tB: true },
];

function gflops(c: Case, reps: number): number {
  const a = tf.randomNormal(c.a);
  const b = tf.randomNormal(c.b);
  const M = c.tA ? c.a[c.a.length - 1] : c.a[c.a.length - 2];
  const K = c.tA ? c.a[c.a.length - 2] : c.a[c.a.length - 1];
  const N = c.tB ? c.b[c.b.length - 2] : c.b[c.b.length - 1];
  const batch = Math.max(tf.util.sizeFromShape(c.a.slice(0, -2)), tf.util.sizeFromShape(c.b.slice(0, -2)));
  tf.matMul(a, b, c.tA, c.tB).dispose(); // warm-up (heap growth)
  // Fresh operands every rep, as in training: XNNPACK caches its packed right operand per tensor,
  // so reusing one tensor would hide the packing cost that a training step pays on every call.
  let total = 0;
  for (let i = 0; i < reps; i++) {
    const [a1, b1] = [tf.add(a, 0), tf.add(b, 0)];
    const t0 = performance.now();
    tf.matMul(a1, b1, c.tA, c.tB).dispose();
    total += performance.now() - t0;
    tf.dispose([a1, b1]);
  }
  const s = total / 1000 / reps;
  a.dispose();
  b.dispose();
  return (2 * batch * M * K * N) / s / 1e9;
}

const rows: { name: string; upstream: number; patched: number }[] = [];
for (const c of cases) {
  const upstream = withUpstreamBatchMatMul(() => gflops(c, 2));
  const patched = gflops(c, 5);
  rows.push({ name: c.name, upstream: +upstream.toFixed(2), patched: +patched.toFixed(2) });
  console.log(
    `${c.name.padEnd(40)} upstream ${upstream.toFixed(2).padStart(6)}  patched ${patched.toFixed(2).padStart(6)} GFLOP/s`,
  );
}
/** Median ms of `reps` forward + backward passes of a full-softmax loss over [R, d] × [N, d]. */
function fullSoftmaxStepMs(R: number, N: number, fused: boolean, reps: number): number {
  const u = tf.randomNormal([R, d], 0, 0.1) as tf.Tensor2D;
  const items = tf.randomNormal([N, d], 0, 0.1) as tf.Tensor2D;
  const positives = Int32Array.from({ length: R }, (_, r) => 1 + ((r * 7919) % (N - 1)));
  const loss = (a: tf.Tensor, b: tf.Tensor) =>
    tf.mean(
      fused
        ? fullSoftmaxRowLosses({
            u: a as tf.Tensor2D,
            positiveIds: positives,
            itemEmbeddings: b as tf.Tensor2D,
            temperature: 1,
          })
        : compositeRowLosses(a as tf.Tensor2D, positives, b as tf.Tensor2D, 1),
    ) as tf.Scalar;
  const times: number[] = [];
  for (let i = 0; i <= reps; i++) {
    const t0 = performance.now();
    const { value, grads } = tf.valueAndGrads(loss)([u, items]);
    for (const g of grads) g.dataSync();
    tf.dispose([value, ...grads]);
    if (i > 0) times.push(performance.now() - t0); // the first pass grows the heap
  }
  tf.dispose([u, items]);
  return times.sort((a, b) => a - b)[Math.floor(reps / 2)];
}

const softmaxShape = { R: 1000, N: 12101 }; // a Beauty batch of ~1,000 real positions, its catalogue
const composite = fullSoftmaxStepMs(softmaxShape.R, softmaxShape.N, false, 5);
const fused = fullSoftmaxStepMs(softmaxShape.R, softmaxShape.N, true, 5);
const load = loadavg()[0];
console.log(
  `full softmax [${softmaxShape.R},${d}]×[${softmaxShape.N},${d}]ᵀ fwd+bwd: tfjs ops ${composite.toFixed(0)} ms, fused ${fused.toFixed(0)} ms (load ${load.toFixed(2)})`,
);
writeFileSync(
  new URL("./results/kernels.json", import.meta.url),
  `${JSON.stringify({ B, L, d, H, rows, fullSoftmax: { ...softmaxShape, d, compositeMs: +composite.toFixed(1), fusedMs: +fused.toFixed(1) }, load: +load.toFixed(2) }, null, 2)}\n`,
);
const md = [
  "| matmul | upstream GFLOP/s | patched GFLOP/s |",
  "|---|---:|---:|",
  ...rows.map((r) => `| ${r.name} | ${r.upstream} | ${r.patched} |`),
  "",
  "| full-softmax loss, forward + backward (median of 5) | tfjs ops ms | fused op ms |",
  "|---|---:|---:|",
  `| u [${softmaxShape.R}, ${d}] against ${softmaxShape.N} items | ${composite.toFixed(0)} | ${fused.toFixed(0)} |`,
  "",
  `1-minute load average at the end: ${load.toFixed(2)} (2 cores).`,
];
writeFileSync(new URL("./results/kernels.md", import.meta.url), `${md.join("\n")}\n`);
