/** Finding a reader's input files in a folder, with MISSING_FILE errors that say what was expected. */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { CtxrecError } from "../../core/errors.ts";

/** Throws CTXREC_ERR_DATA_MISSING_FILE unless `dir` is an existing folder. */
export function requireDir(dir: string, what: string): void {
  let ok = false;
  try {
    ok = statSync(dir).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_MISSING_FILE",
      `${what} folder not found; pass the folder that holds the files with --path`,
      { file: dir },
    );
  }
}

/**
 * Path of `name` or `name.gz` in `dir`. Returns undefined if neither exists and the file is
 * optional; throws MISSING_FILE if it is required, and CTXREC_ERR_ARG if both exist (ambiguous).
 */
export function findDataFile(dir: string, name: string, required: boolean): string | undefined {
  const plain = join(dir, name);
  const gz = `${plain}.gz`;
  const hasPlain = existsSync(plain);
  const hasGz = existsSync(gz);
  if (hasPlain && hasGz) {
    throw new CtxrecError("CTXREC_ERR_ARG", `both ${name} and ${name}.gz exist; keep only one`, {
      file: dir,
    });
  }
  if (hasPlain) return plain;
  if (hasGz) return gz;
  if (!required) return undefined;
  throw new CtxrecError(
    "CTXREC_ERR_DATA_MISSING_FILE",
    `required file ${name} (or ${name}.gz) not found in this folder; add it or check --path`,
    { file: dir },
  );
}
