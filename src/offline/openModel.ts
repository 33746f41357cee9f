/**
 * Opens a model folder's ONNX graphs for the offline jobs (`encode`, `index --model`). A folder
 * without an export (a model trained before `ctxrec train` exported) is exported first, once: the
 * export is derived from the folder's own weights and written atomically beside them.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { exportOnnx } from "../onnx/export.ts";
import { ONNX_DIR } from "../onnx/manifest.ts";
import { type OnnxModelHandle, openOnnxModel } from "../onnx/runtime.ts";

/** The ONNX handle of `modelDir` with `threads` intra-op threads for the encoder and item tower. */
export async function openOfflineModel(modelDir: string, threads: number): Promise<OnnxModelHandle> {
  if (!existsSync(path.join(modelDir, ONNX_DIR, "manifest.json"))) {
    process.stderr.write(`no ONNX export in ${modelDir}; exporting it first (ctxrec export)\n`);
    await exportOnnx(modelDir);
  }
  return openOnnxModel(modelDir, { threads });
}
