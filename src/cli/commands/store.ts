/**
 * `ctxrec store`: operator commands for a feature store (`--store file:PATH | redis://HOST:PORT[/DB] | redis-cluster://HOST:PORT,…`).
 *   `store versions` lists the model-version namespaces, their width and which one is active;
 *   `store activate --model-version V` atomically makes V the active version (what `encode` does
 *   at the end of a complete run), refusing a version the store does not hold.
 */
import type { Command } from "commander";
import { CtxrecError } from "../../core/errors.ts";
import { listStoreVersions, openFeatureStore } from "../../store/open.ts";
import { describeStoreUrl, parseStoreUrl } from "../../store/url.ts";

export function registerStoreCommand(program: Command): void {
  const store = program
    .command("store")
    .description("inspect a feature store and switch its active model version");

  store
    .command("versions")
    .description("list the model versions a store holds (width, created, active)")
    .requiredOption("--store <url>", "file:PATH, redis://HOST:PORT[/DB] or redis-cluster://HOST:PORT,…")
    .option("--json", "print JSON instead of a table")
    .action(async (opts: { store: string; json?: boolean }) => {
      const versions = await listStoreVersions(opts.store);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(versions, null, 2)}\n`);
        return;
      }
      if (versions.length === 0) {
        process.stdout.write(`${describeStoreUrl(parseStoreUrl(opts.store))}: no model versions\n`);
        return;
      }
      const rows = versions.map((v) => [
        v.active ? "*" : " ",
        v.modelVersion,
        String(v.dim),
        new Date(v.createdAt * 1000).toISOString(),
      ]);
      const width = Math.max(13, ...rows.map((r) => r[1].length));
      process.stdout.write(`  ${"model version".padEnd(width)}  dim    created\n`);
      for (const r of rows)
        process.stdout.write(`${r[0]} ${r[1].padEnd(width)}  ${r[2].padEnd(5)}  ${r[3]}\n`);
    });

  store
    .command("activate")
    .description("make a model version the store's active one (atomic)")
    .requiredOption("--store <url>", "file:PATH, redis://HOST:PORT[/DB] or redis-cluster://HOST:PORT,…")
    .requiredOption("--model-version <id>", "a version the store holds (see `ctxrec store versions`)")
    .action(async (opts: { store: string; modelVersion: string }) => {
      const versions = await listStoreVersions(opts.store);
      const found = versions.find((v) => v.modelVersion === opts.modelVersion);
      if (found === undefined) {
        const list = versions.map((v) => v.modelVersion).join(", ") || "none";
        throw new CtxrecError(
          "CTXREC_ERR_ARTIFACT_VERSION",
          `the store holds no model version ${JSON.stringify(opts.modelVersion)} (present: ${list}); run \`ctxrec encode\` for it first`,
          { param: "--model-version" },
        );
      }
      const s = await openFeatureStore(opts.store, {
        modelVersion: found.modelVersion,
        dim: found.dim,
        mode: "write",
      });
      try {
        await s.activate();
      } finally {
        await s.close();
      }
      process.stdout.write(`active model version: ${found.modelVersion}\n`);
    });
}
