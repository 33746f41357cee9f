/**
 * `ctxrec export --model DIR`: writes the ONNX exports of a model folder (sequence encoder, online
 * tower, item tower) to DIR/onnx/ with a manifest tied to the model version. `ctxrec train` runs
 * the same export after saving; this command re-exports an existing folder.
 */
import type { Command } from "commander";
import { exportOnnx } from "../../onnx/export.ts";

interface ExportOptions {
  model: string;
}

export function registerExportCommand(program: Command): void {
  program
    .command("export")
    .description("export a model folder's encoder, online tower and item tower to ONNX (DIR/onnx/)")
    .requiredOption("--model <dir>", "model folder written by `ctxrec train`")
    .action(async (opts: ExportOptions) => {
      const started = performance.now();
      const m = await exportOnnx(opts.model);
      const seconds = (performance.now() - started) / 1000;
      const lines = Object.entries(m.graphs).map(
        ([name, g]) =>
          `  ${name.padEnd(9)} ${g.file.padEnd(15)} in: ${g.inputs.map((s) => `${s.name}[${s.shape.join(",")}]`).join(" ")} → ${g.outputs.map((s) => s.name).join(" ")}`,
      );
      process.stdout.write(
        `wrote ${opts.model}/onnx/ (model version ${m.modelVersion.slice(0, 12)}, opset ${m.opset}) in ${seconds.toFixed(1)} s\n${lines.join("\n")}\n`,
      );
    });
}
