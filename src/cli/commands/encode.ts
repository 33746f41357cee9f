/**
 * `ctxrec encode`: the offline batch. Runs the model's ONNX sequence encoder over the last L events
 * of every user (or, with `--since`, only users with newer events) and writes each last hidden
 * state to the feature store with the model version and the time of the newest event it saw.
 *
 *   ctxrec encode --model DIR --format jsonl --path DATA --store file:state.db [--since TIME]
 *
 * A full run (no `--since`) activates the version in the store when every user is written, so
 * the service switches to it in one step; an incremental run updates the namespace in place.
 * Killing it at any point leaves the store consistent; rerunning finishes the work
 * (docs/offline.md).
 *
 * With `--queue redis://HOST:PORT[/DB] --shards N` the users are split into N shards run as jobs by
 * `ctxrec worker` processes (encodeSharded.ts, docs/scale.md); the version is activated only when
 * every shard completed.
 */
import cliProgress from "cli-progress";
import type { Command } from "commander";
import { loadDataset } from "../../data/load.ts";
import { encodeIntoStore } from "../../offline/encodeUsers.ts";
import { readModelVocabs, requireModelVocabs } from "../../offline/modelData.ts";
import { openOfflineModel } from "../../offline/openModel.ts";
import { parseSinceTime } from "../../offline/users.ts";
import { describeStoreUrl, parseStoreUrl } from "../../store/url.ts";
import { addDataOptions, type DataOptionValues, parseDataOptions } from "../dataOptions.ts";
import { formatCount, toNumber } from "../numbers.ts";
import { encodeOnQueue } from "./encodeSharded.ts";

interface EncodeOptions extends DataOptionValues {
  model: string;
  store: string;
  since?: string;
  batchSize: string;
  threads: string;
  queue?: string;
  queueName: string;
  shards?: string;
}

/** A users bar with users/s and ETA on stderr when it is a terminal; a no-op otherwise. */
function encodeBar(): { update(done: number, total: number): void; stop(): void } {
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      format: "encode [{bar}] {percentage}% | {value}/{total} users | {rate} users/s | ETA {eta_formatted}",
      fps: 5,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  const t0 = performance.now();
  let started = false;
  return {
    update(done, total) {
      const rate = Math.round(done / Math.max(1e-3, (performance.now() - t0) / 1000));
      if (!started) {
        bar.start(total, 0, { rate: 0 });
        started = true;
      }
      bar.update(done, { rate: formatCount(rate) });
    },
    stop: () => started && bar.stop(),
  };
}

export function registerEncodeCommand(program: Command): void {
  addDataOptions(
    program
      .command("encode")
      .description(
        "offline batch: encode every user's last L events with the model's ONNX encoder into the feature store",
      ),
  )
    .requiredOption("--model <dir>", "trained model folder (ctxrec train --out DIR) with its ONNX export")
    .requiredOption(
      "--store <url>",
      "feature store: file:PATH (SQLite), redis://HOST:PORT[/DB] or redis-cluster://HOST:PORT,…",
    )
    .option(
      "--since <time>",
      "only users with an event after TIME (ISO 8601 or Unix seconds): the incremental run; does not activate",
    )
    .option("--batch-size <n>", "users per encoder call and per atomic store write", "512")
    .option("--threads <n>", "onnxruntime intra-op threads", "2")
    .option(
      "--queue <url>",
      "run as sharded jobs on this BullMQ queue (redis://HOST:PORT[/DB]) taken by `ctxrec worker` processes",
    )
    .option("--shards <n>", "with --queue: number of user shards (one job each)")
    .option(
      "--queue-name <name>",
      "with --queue: BullMQ queue name (the workers' --queue-name)",
      "ctxrec-encode",
    )
    .action(async (opts: EncodeOptions) => {
      const batchSize = toNumber(opts.batchSize, "--batch-size");
      const threads = toNumber(opts.threads, "--threads");
      const since = opts.since === undefined ? undefined : parseSinceTime(opts.since);
      if (opts.queue !== undefined || opts.shards !== undefined) {
        await encodeOnQueue({ ...opts, batchSize, threads, since });
        return;
      }
      const url = parseStoreUrl(opts.store);
      const vocabs = readModelVocabs(opts.model);
      const { args, stop } = parseDataOptions(opts);
      const ds = await loadDataset(args).finally(stop);
      requireModelVocabs(ds, vocabs, opts.model);
      const handle = await openOfflineModel(opts.model, threads);
      try {
        const bar = encodeBar();
        const r = await encodeIntoStore(ds, handle, url, {
          batchSize,
          since,
          onProgress: (done, total) => bar.update(done, total),
        }).finally(() => bar.stop());
        const active = r.activeVersion;
        process.stdout.write(
          `encoded ${formatCount(r.encoded)} users (${formatCount(r.upToDate)} already up to date, ` +
            `${formatCount(r.withoutEvents)} without events) in ${r.seconds.toFixed(2)} s: ` +
            `${formatCount(Math.round(r.usersPerSecond))} users/s, model ${handle.version.slice(0, 12)}, ` +
            `d=${handle.dim}, L=${handle.maxLen} → ${describeStoreUrl(url)}\n`,
        );
        process.stdout.write(
          r.activated
            ? `active version: ${handle.version}\n`
            : `active version unchanged: ${active ?? "none"}${active === handle.version ? "" : " (run without --since to fill and activate this version)"}\n`,
        );
      } finally {
        await handle.close();
      }
    });
}
