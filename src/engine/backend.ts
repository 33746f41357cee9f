/**
 * Initialises TensorFlow.js for training: the WebAssembly backend (XNNPACK, SIMD), the project's
 * kernel patches and tfjs-core's gradients, with a guard on the library versions.
 *
 * State: tfjs itself keeps one engine, one kernel registry and one gradient registry per process
 * (on globalThis), and the wasm module is loaded once per process/worker. ctxrec adds no state of
 * its own: every "already done?" question is answered by asking tfjs (current backend, registered
 * kernels and gradients), so calling `initEngine` twice is cheap and safe.
 */
import { createRequire } from "node:module";
import path from "node:path";
import * as cpu from "@tensorflow/tfjs-backend-cpu";
import * as wasm from "@tensorflow/tfjs-backend-wasm";
import * as tf from "@tensorflow/tfjs-core";
import { CtxrecError, wrapError } from "../core/errors.ts";
import { loadGradients } from "./gradientLoader.ts";
import { installMallocGuard, liveHeapBytes } from "./kernels/heapGuard.ts";
import { registerEngineGradients, registerEngineKernels } from "./kernels/index.ts";
import { emscripten } from "./kernels/wasmHeap.ts";

/** The tfjs version every patch in kernels/ was written and measured against. */
export const PINNED_TFJS_VERSION = "4.22.0";

/** Installed versions of the three tfjs packages. */
export function installedTfjsVersions(): Record<string, string> {
  return {
    "@tensorflow/tfjs-core": tf.version_core,
    "@tensorflow/tfjs-backend-wasm": wasm.version_wasm,
    "@tensorflow/tfjs-backend-cpu": cpu.version_cpu,
  };
}

/**
 * Throws CTXREC_ERR_ENGINE unless every tfjs package is at `pinned`: the kernel patches reach
 * into backend internals (heap layout, the wasm BatchMatMul entry point) that change between
 * releases, so another version must fail loudly rather than compute wrong numbers.
 */
export function assertTfjsVersions(
  versions: Record<string, string> = installedTfjsVersions(),
  pinned = PINNED_TFJS_VERSION,
): void {
  for (const [pkg, v] of Object.entries(versions)) {
    if (v !== pinned) {
      throw new CtxrecError(
        "CTXREC_ERR_ENGINE",
        `${pkg} is ${v} but the engine's kernel patches are written for ${pinned}; install exactly ${pkg}@${pinned} (npm ci)`,
        { param: pkg },
      );
    }
  }
}

/** Folder holding the .wasm binaries inside node_modules, so loading never touches the network. */
export function wasmBinaryDir(): string {
  const require = createRequire(import.meta.url);
  return `${path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json"))}/dist/`;
}

/** What `initEngine` reports. */
export interface EngineInfo {
  backend: string;
  versions: Record<string, string>;
  /** Bytes of the wasm heap right after init. */
  wasmHeapBytes: number;
}

/**
 * Makes the patched wasm backend current. Safe to call any number of times and concurrently: the
 * version guard runs first, gradients load once, kernels register once, and `tf.setBackend`
 * shares one pending initialisation between callers.
 */
export async function initEngine(): Promise<EngineInfo> {
  assertTfjsVersions();
  try {
    await loadGradients();
    registerEngineGradients();
    registerEngineKernels("wasm");
    if (tf.getBackend() !== "wasm" || tf.findBackend("wasm") === null) {
      if (tf.engine().registryFactory.wasm === undefined) {
        throw new Error("the wasm backend factory is not registered");
      }
      // setWasmPaths refuses to run after a failed init; a second call after success is harmless.
      if (tf.findBackend("wasm") === null) wasm.setWasmPaths(wasmBinaryDir());
      const ok = await tf.setBackend("wasm");
      if (!ok) throw new Error("tf.setBackend('wasm') returned false");
    }
    // A failed malloc must throw, not hand out address 0 (see kernels/heapGuard.ts).
    installMallocGuard(tf.findBackend("wasm") as wasm.BackendWasm);
  } catch (err) {
    throw wrapError(
      "CTXREC_ERR_ENGINE",
      err,
      "check that @tensorflow/tfjs-backend-wasm is installed with its dist/*.wasm files",
      {
        param: "backend",
      },
    );
  }
  return { backend: tf.getBackend(), versions: installedTfjsVersions(), wasmHeapBytes: wasmHeapBytes() };
}

/** Current size of the wasm heap in bytes (0 when the wasm backend is not initialised). */
export function wasmHeapBytes(): number {
  const b = tf.findBackend("wasm") as wasm.BackendWasm | null;
  return b === null ? 0 : emscripten(b).HEAPU8.length;
}

/** Bytes of tensor data on the wasm heap (each buffer once; 0 when wasm is not initialised). */
export function wasmLiveBytes(): number {
  const b = tf.findBackend("wasm") as wasm.BackendWasm | null;
  return b === null ? 0 : liveHeapBytes(b);
}

/**
 * Runs `fn` with `backendName` ("cpu" for reference computations in tests) as the current backend
 * and switches back afterwards. Tensors move between backends lazily when read.
 */
export async function withBackend<T>(backendName: "cpu" | "wasm", fn: () => T | Promise<T>): Promise<T> {
  const previous = tf.getBackend();
  if (previous !== backendName) await tf.setBackend(backendName);
  // The cpu backend prints a "use tfjs-node" banner on first use; it is the reference here on purpose.
  const b = tf.findBackend(backendName) as { firstUse?: boolean } | null;
  if (b !== null && b.firstUse === true) b.firstUse = false;
  try {
    return await fn();
  } finally {
    if (tf.getBackend() !== previous) await tf.setBackend(previous);
  }
}
