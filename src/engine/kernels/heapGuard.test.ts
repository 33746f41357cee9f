import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { CtxrecError } from "../../core/errors.ts";
import { attentionPeakBytes, scaledDotProductAttention } from "../attention.ts";
import { initEngine, wasmLiveBytes } from "../backend.ts";
import { assertHeapRoom, guardedMalloc, WASM_HEAP_MAX_BYTES } from "./heapGuard.ts";

beforeAll(async () => {
  await initEngine();
});

describe("wasm heap guard", () => {
  it("estimates attention's peak: 4 tensors of n·L² floats", () => {
    // n = 256·2 = 512, L = 200: 4 · 512 · 40,000 · 4 B = 327,680,000 B
    expect(attentionPeakBytes(512, 200)).toBe(327_680_000);
  });

  it("accepts the reference shapes, L = 50 and L = 200", () => {
    expect(() => assertHeapRoom("attention", attentionPeakBytes(512, 50), 200e6)).not.toThrow();
    expect(() => assertHeapRoom("attention", attentionPeakBytes(512, 200), 1.5e9)).not.toThrow();
  });

  it("refuses a shape that cannot fit with CTXREC_ERR_ENGINE and the fix", () => {
    // B = 1024, H = 4, L = 500: 4 · 4096 · 250,000 · 4 B = 16.4 GB > 4 GiB.
    const bytes = attentionPeakBytes(4096, 500);
    expect(bytes).toBeGreaterThan(WASM_HEAP_MAX_BYTES);
    let err: unknown;
    try {
      assertHeapRoom("attention over [4096, 500, 500]", bytes, 1e8);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CtxrecError);
    expect((err as CtxrecError).code).toBe("CTXREC_ERR_ENGINE");
    expect((err as Error).message).toMatch(
      /attention over \[4096, 500, 500\].*lower the batch size or the history length/,
    );
  });

  it("refuses before allocating when live tensors leave too little room", () => {
    // 100 MB more next to 3.9 GB live exceeds 90% of the 4 GiB heap.
    expect(() => assertHeapRoom("x", 100e6, 3.9e9)).toThrow(/wasm heap/);
  });

  it("attention on a too-large shape fails with the fix before allocating its scores", () => {
    // q, k, v [4096, 500, 1] are 8 MB each, but the [4096, 500, 500] scores would need 16.4 GB.
    const q = tf.zeros([4096, 500, 1]) as tf.Tensor3D;
    const before = tf.memory().numTensors;
    expect(() => scaledDotProductAttention(q, q, q)).toThrow(
      /attention over \[4096, 500, 500\] needs 15\.26 GiB more/,
    );
    expect(tf.memory().numTensors).toBe(before);
    q.dispose();
  });

  it("turns a NULL from malloc into CTXREC_ERR_ENGINE instead of address 0", () => {
    const malloc = guardedMalloc(
      (n) => (n > 1000 ? 0 : 64),
      () => 123,
    );
    expect(malloc(10)).toBe(64);
    expect(malloc(0)).toBe(64);
    expect(() => malloc(5000)).toThrow(/a wasm tensor allocation needs 0\.00 GiB more/);
  });

  it("counts each heap buffer once (reshapes and clones share it)", () => {
    const before = wasmLiveBytes();
    const x = tf.zeros([256, 1024]); // 262,144 floats = 1,048,576 bytes
    const y = tf.reshape(x, [1024, 256]);
    const z = tf.clone(x);
    expect(wasmLiveBytes() - before).toBe(1_048_576);
    tf.dispose([x, y, z]);
    expect(wasmLiveBytes()).toBe(before);
  });
});
