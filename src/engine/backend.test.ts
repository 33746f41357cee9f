import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { CtxrecError } from "../core/errors.ts";
import { assertTfjsVersions, initEngine, PINNED_TFJS_VERSION } from "./backend.ts";
import { engineKernelsRegistered } from "./kernels/index.ts";

describe("engine backend", () => {
  it("initialises wasm with the patches, idempotently", async () => {
    const a = await initEngine();
    const b = await initEngine();
    expect(a.backend).toBe("wasm");
    expect(b.backend).toBe("wasm");
    expect(engineKernelsRegistered("wasm")).toBe(true);
    expect(tf.getKernel("UnsortedSegmentSum", "wasm")).toBeDefined();
  });

  it("fails loudly on another tfjs version", () => {
    const versions = {
      "@tensorflow/tfjs-core": PINNED_TFJS_VERSION,
      "@tensorflow/tfjs-backend-wasm": "4.21.0",
    };
    expect(() => assertTfjsVersions(versions)).toThrow(CtxrecError);
    expect(() => assertTfjsVersions(versions)).toThrow(
      "parameter @tensorflow/tfjs-backend-wasm: @tensorflow/tfjs-backend-wasm is 4.21.0 but the engine's kernel patches are written for 4.22.0",
    );
  });
});
