/**
 * Guards against the wasm heap running out.
 *
 * The real cause of the L=200 crash (`RuntimeError: memory access out of bounds`), measured with
 * `wasmHeapBytes()` and a hook on malloc: at B=256, L=200 the step reached the wasm32 ceiling
 * (heap 4,294,901,760 bytes, 2.38 GB of live tensors plus fragmentation), `_malloc` returned 0
 * (NULL), and tfjs-backend-wasm 4.22.0 does not check it: it registers the new tensor at heap
 * offset 0 and the kernel writes over the module's own static data and stack, which ends in an
 * out-of-bounds trap somewhere later. The heap cannot be made larger (wasm32 addresses 4 GiB; the
 * module's `getHeapMax()` already returns 4 GiB − 64 KiB), so the engine (a) keeps less on the heap
 * (attention.ts: fused attention whose temporaries are freed), (b) checks big attention shapes
 * against the room left before allocating, and (c) turns a failed malloc into a CtxrecError at
 * the allocation instead of memory corruption.
 */
import { CtxrecError } from "../../core/errors.ts";
import type { Wasm } from "./wasmHeap.ts";

/** Largest wasm heap of tfjs-backend-wasm 4.22.0 (emscripten `getHeapMax()`): 4 GiB − 64 KiB. */
export const WASM_HEAP_MAX_BYTES = 4_294_901_760;

/** What to do when a step does not fit; shared by the pre-check and the malloc guard. */
const FIX =
  "lower the batch size or the history length L (attention keeps B·H·L² floats per layer), " +
  "or split the batch over more steps";

/** The CtxrecError for a heap that cannot hold `bytes` more. */
export function heapExhaustedError(what: string, bytes: number, liveBytes: number): CtxrecError {
  const gib = (b: number) => (b / 2 ** 30).toFixed(2);
  return new CtxrecError(
    "CTXREC_ERR_ENGINE",
    `${what} needs ${gib(bytes)} GiB more but ${gib(liveBytes)} GiB of tensors are live in the ` +
      `${gib(WASM_HEAP_MAX_BYTES)} GiB wasm heap (the wasm32 maximum); ${FIX}`,
    { param: what },
  );
}

/**
 * Throws CTXREC_ERR_ENGINE unless `bytes` more fit next to `liveBytes` in a heap of `heapMax`
 * bytes, keeping `headroom` (fraction of the heap) for fragmentation and the kernels' scratch.
 */
export function assertHeapRoom(
  what: string,
  bytes: number,
  liveBytes: number,
  heapMax = WASM_HEAP_MAX_BYTES,
  headroom = 0.1,
): void {
  if (liveBytes + bytes > heapMax * (1 - headroom)) throw heapExhaustedError(what, bytes, liveBytes);
}

type Malloc = (bytes: number) => number;
type Free = (ptr: number) => void;
const GUARDED = Symbol.for("ctxrec.engine.mallocGuard");

/** Live allocations made through the guarded malloc: address → bytes, and their total. */
interface HeapLedger {
  sizes: Map<number, number>;
  live: number;
}

/**
 * Wraps a malloc so that NULL for a non-empty request throws CTXREC_ERR_ENGINE instead of being
 * used as an address. `liveBytes` reports the tensor bytes for the message.
 */
export function guardedMalloc(raw: Malloc, liveBytes: () => number, ledger?: HeapLedger): Malloc {
  return (bytes: number): number => {
    const p = raw(bytes);
    if (p === 0 && bytes > 0) throw heapExhaustedError("a wasm tensor allocation", bytes, liveBytes());
    if (ledger !== undefined) {
      // Addresses above 2 GiB come back negative (wasm i32); tfjs frees them as unsigned.
      ledger.sizes.set(p >>> 0, bytes);
      ledger.live += bytes;
    }
    return p;
  };
}

type GuardedModule = {
  _malloc: Malloc;
  _free: Free;
  asm?: { malloc?: Malloc; free?: Free };
  [GUARDED]?: HeapLedger;
};

/**
 * Bytes of tensor data on the wasm heap, counted by the guard (each buffer once, from the
 * moment the guard was installed). `tf.memory().numBytes` is no substitute: it counts every
 * tensor object, so reshapes and shared clones of one buffer count again (it reached 5.8 GiB
 * with a 2.3 GB heap).
 */
export function liveHeapBytes(backend: Wasm): number {
  return (backend.wasm as unknown as GuardedModule)[GUARDED]?.live ?? 0;
}

/**
 * Installs `guardedMalloc` (and a matching free that keeps the ledger) on the backend's module;
 * idempotent. The emscripten glue replaces `Module._malloc`/`_free` with the raw exports on
 * their first call, so the guard wraps the exports themselves.
 */
export function installMallocGuard(backend: Wasm): void {
  const mod = backend.wasm as unknown as GuardedModule;
  if (mod[GUARDED] !== undefined) return;
  const ledger: HeapLedger = { sizes: new Map(), live: 0 };
  const rawMalloc = mod.asm?.malloc ?? mod._malloc;
  const rawFree = mod.asm?.free ?? mod._free;
  mod._malloc = guardedMalloc(rawMalloc, () => ledger.live, ledger);
  mod._free = (ptr: number) => {
    const n = ledger.sizes.get(ptr >>> 0);
    if (n !== undefined) {
      ledger.sizes.delete(ptr >>> 0);
      ledger.live -= n;
    }
    rawFree(ptr);
  };
  mod[GUARDED] = ledger;
}
