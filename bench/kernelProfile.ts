/**
 * Kernel time per op from tf.profile, shared by the step benchmarks (stepProfile.ts, trainRun.ts).
 */
import type * as tf from "@tensorflow/tfjs-core";

type ProfileInfo = Awaited<ReturnType<typeof tf.profile>>;

/** Adds the kernel times of `profile` to `byKernel` (name → ms), leaf kernels only. */
export function addKernelTimes(byKernel: Map<string, number>, profile: ProfileInfo): void {
  for (const k of profile.kernels) {
    // Nested scopes (customGrad ops) report their inner kernels too: count leaf kernels only.
    if (k.name.includes("scope")) continue;
    byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + Number(k.kernelTimeMs));
  }
}

/** The `top` ops by time, as ms per step over `steps` profiled steps. */
export function topKernels(
  byKernel: Map<string, number>,
  steps: number,
  top = Number.POSITIVE_INFINITY,
): { name: string; msPerStep: number }[] {
  return [...byKernel]
    .map(([name, ms]) => ({ name, msPerStep: +(ms / steps).toFixed(1) }))
    .sort((a, b) => b.msPerStep - a.msPerStep)
    .slice(0, top);
}
