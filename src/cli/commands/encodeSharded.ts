/**
 * `ctxrec encode --queue redis://HOST:PORT[/DB] --shards N`: the coordinator of the sharded offline
 * batch. Loads the data (to count each shard's users and check the model's ids before any job is
 * queued), enqueues one job per shard, shows a bar over shards and users while `ctxrec worker`
 * processes run them, and activates the version only when every shard completed
 * (src/offline/shardQueue.ts).
 */
import cliProgress from "cli-progress";
import { CtxrecError } from "../../core/errors.ts";
import { loadDataset } from "../../data/load.ts";
import { readModelVocabs, requireModelVocabs } from "../../offline/modelData.ts";
import { openOfflineModel } from "../../offline/openModel.ts";
import {
  checkQueueName,
  checkQueueReachable,
  newRunId,
  parseQueueUrl,
  shardedEncodeIntoStore,
} from "../../offline/shardQueue.ts";
import { MAX_SHARDS } from "../../offline/shards.ts";
import { describeStoreUrl, parseStoreUrl } from "../../store/url.ts";
import { type DataOptionValues, parseDataOptions } from "../dataOptions.ts";
import { formatCount, intOption } from "../numbers.ts";

/** The encode options the queue path reads, numbers already parsed. */
export interface QueueEncodeOptions extends DataOptionValues {
  model: string;
  store: string;
  since: number | undefined;
  batchSize: number;
  threads: number;
  queue?: string;
  queueName: string;
  shards?: string;
}

/** A bar over users with shards done, on stderr when it is a terminal; a no-op otherwise. */
function shardBar(): {
  update(shardsDone: number, shards: number, done: number, total: number): void;
  stop(): void;
} {
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      format:
        "encode [{bar}] {percentage}% | {value}/{total} users | {shardsDone}/{shards} shards | ETA {eta_formatted}",
      fps: 5,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(shardsDone, shards, done, total) {
      if (!started) {
        bar.start(total, 0, { shardsDone, shards });
        started = true;
      }
      bar.update(done, { shardsDone, shards });
    },
    stop: () => started && bar.stop(),
  };
}

/** Runs the sharded encode; CTXREC_ERR_ARG naming --queue or --shards for bad values. */
export async function encodeOnQueue(opts: QueueEncodeOptions): Promise<void> {
  if (opts.queue === undefined) {
    throw new CtxrecError("CTXREC_ERR_ARG", "--shards needs --queue redis://HOST:PORT[/DB] (the job queue)", {
      param: "--shards",
    });
  }
  const url = parseQueueUrl(opts.queue, "--queue");
  if (opts.shards === undefined) {
    throw new CtxrecError("CTXREC_ERR_ARG", `give the number of user shards with --queue, e.g. --shards 16`, {
      param: "--shards",
    });
  }
  const shards = intOption(opts.shards, "--shards", 1, MAX_SHARDS);
  checkQueueName(opts.queueName, "--queue-name");
  const storeUrl = parseStoreUrl(opts.store);
  await checkQueueReachable(url, "--queue");
  const vocabs = readModelVocabs(opts.model);
  const { args, stop } = parseDataOptions(opts);
  const ds = await loadDataset(args).finally(stop);
  requireModelVocabs(ds, vocabs, opts.model);
  // Opened once here (exporting ONNX when the folder has none) so that workers never race to export.
  const handle = await openOfflineModel(opts.model, opts.threads);
  const model = { dir: opts.model, version: handle.version, dim: handle.dim, maxLen: handle.maxLen };
  await handle.close();
  const runId = newRunId();
  process.stderr.write(
    `ctxrec encode: run ${runId}: ${shards} shard jobs on queue ${opts.queueName}; waiting for \`ctxrec worker --queue …\` processes to take them\n`,
  );
  const bar = shardBar();
  const r = await shardedEncodeIntoStore(
    ds,
    { url, name: opts.queueName },
    {
      shards,
      model,
      data: {
        format: args.format,
        path: args.path,
        skipInvalid: args.skipInvalid === true,
        ...(args.attributes !== undefined ? { attributes: args.attributes } : {}),
      },
      store: opts.store,
      runId,
      batchSize: opts.batchSize,
      since: opts.since,
      onProgress: (s, n, done, total) => bar.update(s, n, done, total),
    },
  ).finally(() => bar.stop());
  process.stdout.write(
    `encoded ${formatCount(r.encoded)} users (${formatCount(r.upToDate)} already up to date) in ${shards} shards ` +
      `(run ${r.runId}) in ${r.seconds.toFixed(2)} s, model ${model.version.slice(0, 12)}, d=${model.dim}, ` +
      `L=${model.maxLen} → ${describeStoreUrl(storeUrl)}\n`,
  );
  process.stdout.write(
    r.activated
      ? `active version: ${model.version}\n`
      : `active version unchanged: ${r.activeVersion ?? "none"} (an incremental run does not activate)\n`,
  );
}
