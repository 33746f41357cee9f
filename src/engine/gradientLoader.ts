/**
 * Loads tfjs-core's gradient registrations under Node.
 *
 * Why: the CommonJS bundle Node resolves for `@tensorflow/tfjs-core` (dist/tf-core.node.js) does
 * not contain the gradient functions; they only exist as ES modules under dist/gradients whose
 * relative imports have no file extension ("./ops/mat_mul"), which Node's ESM loader refuses. We
 * register a tiny resolve hook (node:module `register`, Node ≥ 20.6) that adds ".js" (or
 * "/index.js") to extensionless relative imports inside tfjs-core/dist only, then import
 * `register_all_gradients.js`. Those modules attach to the same global engine and registries as the
 * CommonJS copy (tfjs keeps them on globalThis), so the gradients apply to every tensor.
 */
import { register } from "node:module";
import * as tf from "@tensorflow/tfjs-core";

const HOOK_SOURCE = `
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
export async function resolve(specifier, context, next) {
  const parent = context.parentURL;
  if (parent && parent.includes("/@tensorflow/tfjs-core/dist/") && specifier.startsWith(".") &&
      !/\\.[cm]?js$/.test(specifier)) {
    const url = new URL(specifier, parent);
    const file = fileURLToPath(url);
    return next(existsSync(file + ".js") ? url.href + ".js" : url.href + "/index.js", context);
  }
  return next(specifier, context);
}`;

/** True when tfjs-core's gradients are in the (global) gradient registry. */
export function gradientsLoaded(): boolean {
  // Abs is registered by register_all_gradients and by nothing in ctxrec.
  return tf.getGradient(tf.Abs) !== undefined;
}

/** Registers all tfjs-core gradients once per process (state lives in tfjs's global registry). */
export async function loadGradients(): Promise<void> {
  if (gradientsLoaded()) return;
  register(`data:text/javascript,${encodeURIComponent(HOOK_SOURCE)}`);
  await import("@tensorflow/tfjs-core/dist/register_all_gradients.js");
}
