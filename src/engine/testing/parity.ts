/**
 * Helpers for parity tests against the pure-JS `cpu` backend: run the same function on both
 * backends and compare values elementwise with a mixed tolerance |a−b| ≤ atol + rtol·|b|.
 */
import * as tf from "@tensorflow/tfjs-core";
import { withBackend } from "../backend.ts";

/** Runs `fn` on wasm (current) and on cpu and returns both results as flat arrays. */
export async function onBothBackends(
  fn: () => tf.Tensor | tf.Tensor[],
): Promise<{ wasm: Float32Array[]; cpu: Float32Array[] }> {
  const read = () => {
    const out = tf.tidy(() => {
      const r = fn();
      return Array.isArray(r) ? r : [r];
    });
    const data = out.map((t) => Float32Array.from(t.dataSync()));
    tf.dispose(out);
    return data;
  };
  const wasm = read();
  const cpu = await withBackend("cpu", read);
  return { wasm, cpu };
}

/** Largest violation of |a−b| ≤ atol + rtol·|b| (≤ 0 means within tolerance), and where. */
export function maxViolation(
  a: Float32Array,
  b: Float32Array,
  atol: number,
  rtol: number,
): { excess: number; index: number } {
  if (a.length !== b.length) return { excess: Number.POSITIVE_INFINITY, index: -1 };
  let excess = Number.NEGATIVE_INFINITY;
  let index = -1;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]) - (atol + rtol * Math.abs(b[i]));
    if (!(e <= excess) || Number.isNaN(e)) {
      excess = Number.isNaN(e) ? Number.POSITIVE_INFINITY : e;
      index = i;
    }
  }
  return { excess, index };
}
