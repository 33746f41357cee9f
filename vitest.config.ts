import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/globalSetup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Native addons (sqlite, hnsw, onnxruntime) and wasm heaps are safer in forked processes than threads.
    pool: "forks",
  },
});
