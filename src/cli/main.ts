/**
 * The `ctxrec` command line. Each command lives in its own module under `commands/` and receives
 * its typed options from commander; configuration is parsed here, at the edge, and never travels
 * further as a bag of options.
 */
import { Command } from "commander";
import { CtxrecError } from "../core/errors.ts";
import { registerDataCommand } from "./commands/data.ts";
import { registerDemoCommand } from "./commands/demo.ts";
import { registerEncodeCommand } from "./commands/encode.ts";
import { registerEvalCommand } from "./commands/eval.ts";
import { registerExportCommand } from "./commands/export.ts";
import { registerFunnelCommand } from "./commands/funnel.ts";
import { registerFunnelSweepCommand } from "./commands/funnelSweep.ts";
import { registerIndexCommand } from "./commands/index.ts";
import { registerOpenapiCommand } from "./commands/openapi.ts";
import { registerReportCommand } from "./commands/report.ts";
import { registerServeCommand } from "./commands/serve.ts";
import { registerStoreCommand } from "./commands/store.ts";
import { registerStreamCommand } from "./commands/stream.ts";
import { registerSynthCommand } from "./commands/synth.ts";
import { registerTrainCommand } from "./commands/train.ts";
import { registerWorkerCommand } from "./commands/worker.ts";

const program = new Command();
program
  .name("ctxrec")
  .description(
    "Contextual sequential two-tower retrieval: data, synthetic world, funnel simulation, training",
  )
  .showHelpAfterError();

// Command registrations (one line per command module).
registerDataCommand(program);
registerSynthCommand(program);
registerFunnelCommand(program);
registerFunnelSweepCommand(program);
registerDemoCommand(program);
registerEvalCommand(program);
registerIndexCommand(program);
registerStoreCommand(program);
registerTrainCommand(program);
registerEncodeCommand(program);
registerWorkerCommand(program);
registerStreamCommand(program);
registerServeCommand(program);
registerOpenapiCommand(program);
registerExportCommand(program);
registerReportCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CtxrecError) {
    process.stderr.write(`ctxrec: ${err.code}: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
