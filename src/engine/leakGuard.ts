/**
 * Tensor-leak guard for training loops: a step must leave the number of live tensors unchanged
 * and, once warm, must not grow the wasm heap (which never shrinks, so growth is a leak or a
 * fragmentation problem that ends at the 4 GB limit).
 */
import * as tf from "@tensorflow/tfjs-core";
import { CtxrecError } from "../core/errors.ts";
import { wasmHeapBytes } from "./backend.ts";

/** Memory figures at one moment. */
export interface MemorySnapshot {
  numTensors: number;
  numDataBuffers: number;
  /** Bytes of the wasm heap (0 when the wasm backend is not initialised). */
  wasmHeapBytes: number;
}

export function memorySnapshot(): MemorySnapshot {
  const m = tf.memory();
  return { numTensors: m.numTensors, numDataBuffers: m.numDataBuffers, wasmHeapBytes: wasmHeapBytes() };
}

/** Runs `fn` inside `tf.tidy` and throws CTXREC_ERR_ENGINE if it left tensors behind. */
export function tidyChecked<T extends tf.TensorContainer>(what: string, fn: () => T): T {
  const before = tf.memory().numTensors;
  const out = tf.tidy(fn as () => tf.TensorContainer) as T;
  const kept = out instanceof tf.Tensor ? 1 : 0;
  const after = tf.memory().numTensors;
  if (after - kept > before) {
    throw new CtxrecError("CTXREC_ERR_ENGINE", `${what} leaked ${after - kept - before} tensors`, {
      param: what,
    });
  }
  return out;
}

/** Result of `checkSteps`. */
export interface LeakReport {
  before: MemorySnapshot;
  afterWarmup: MemorySnapshot;
  after: MemorySnapshot;
  steps: number;
}

/**
 * Runs `warmup` then `steps` calls of `step` and throws CTXREC_ERR_ENGINE if the live tensor count
 * changed across the measured steps or the wasm heap grew after the warm-up.
 */
export function checkSteps(
  step: (i: number) => void,
  opts: { steps: number; warmup?: number; what?: string },
): LeakReport {
  const what = opts.what ?? "training step";
  const before = memorySnapshot();
  const warmup = opts.warmup ?? 2;
  for (let i = 0; i < warmup; i++) step(i);
  const afterWarmup = memorySnapshot();
  for (let i = 0; i < opts.steps; i++) step(warmup + i);
  const after = memorySnapshot();
  if (after.numTensors !== afterWarmup.numTensors) {
    throw new CtxrecError(
      "CTXREC_ERR_ENGINE",
      `${what}: live tensors went from ${afterWarmup.numTensors} to ${after.numTensors} over ${opts.steps} steps (a tensor is not disposed; wrap the step in tf.tidy)`,
      { param: what },
    );
  }
  if (after.wasmHeapBytes > afterWarmup.wasmHeapBytes) {
    throw new CtxrecError(
      "CTXREC_ERR_ENGINE",
      `${what}: wasm heap grew from ${afterWarmup.wasmHeapBytes} to ${after.wasmHeapBytes} bytes after warm-up`,
      { param: what },
    );
  }
  return { before, afterWarmup, after, steps: opts.steps };
}
