/**
 * `ctxrec openapi [--out FILE] [--max-k N]`: writes the OpenAPI 3.1 description of `ctxrec serve`
 * (src/serve/openapi.ts), generated from the routes' zod schemas without loading a model.
 * `npm run openapi` regenerates the committed docs/openapi.json; a test fails when it is stale.
 */
import type { Command } from "commander";
import { writeFileAtomic } from "../../core/atomicFile.ts";
import { DEFAULT_MAX_K } from "../../serve/api.ts";
import { MAX_K_CEILING } from "../../serve/limits.ts";
import { formatOpenapi, OPENAPI_FILE, openapiDocument } from "../../serve/openapi.ts";
import { intOption } from "../numbers.ts";

interface OpenapiOptions {
  out?: string;
  maxK: string;
}

export function registerOpenapiCommand(program: Command): void {
  program
    .command("openapi")
    .description(`write the OpenAPI 3.1 description of \`ctxrec serve\` (committed as ${OPENAPI_FILE})`)
    .option("--out <file>", "file to write (default: stdout)")
    .option("--max-k <n>", "the server's --max-k the description states", String(DEFAULT_MAX_K))
    .action(async (opts: OpenapiOptions) => {
      const text = formatOpenapi(await openapiDocument(intOption(opts.maxK, "--max-k", 1, MAX_K_CEILING)));
      if (opts.out === undefined) process.stdout.write(text);
      else {
        writeFileAtomic(opts.out, text);
        process.stdout.write(`wrote ${opts.out}\n`);
      }
    });
}
