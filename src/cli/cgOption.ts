/**
 * `--cg name=DIR` (repeatable): the trained CGs of a competition, shared by `ctxrec eval --protocol
 * funnel`, `ctxrec funnel-sweep` and `ctxrec demo`. The text is parsed here, at the edge; the
 * labels and folders are checked by src/funnel/competitors.ts, which the library form calls too.
 */
import type { Command } from "commander";
import { CtxrecError } from "../core/errors.ts";
import { CG_FLAG, type CgFolder, checkCgNames } from "../funnel/competitors.ts";

/** Label rule: a JSON key and a table cell that needs no quoting. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Adds `--cg <name=dir>` to `cmd`, collecting every occurrence (in order) into `opts.cg`. */
export function addCgOption(cmd: Command, description: string): Command {
  return cmd.option(`${CG_FLAG} <name=dir>`, description, (value: string, previous: string[] | undefined) => [
    ...(previous ?? []),
    value,
  ]);
}

/** One `name=DIR` as a CgFolder; CTXREC_ERR_ARG naming `--cg` and the text otherwise. */
export function parseCgValue(text: string): CgFolder {
  const eq = text.indexOf("=");
  const name = eq < 0 ? "" : text.slice(0, eq).trim();
  const dir = eq < 0 ? "" : text.slice(eq + 1).trim();
  if (!NAME.test(name) || dir === "") {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `'${text}' is not name=DIR; write e.g. --cg shopping=models/shopping (the name: letters, digits, '.', '_', '-')`,
      { param: CG_FLAG },
    );
  }
  return { name, dir };
}

/** Every `--cg` value parsed and the labels checked (duplicates, `reserved`); [] when none was given. */
export function parseCgOptions(
  values: readonly string[] | undefined,
  reserved: readonly string[] = [],
): CgFolder[] {
  const specs = (values ?? []).map(parseCgValue);
  checkCgNames(specs, reserved);
  return specs;
}
