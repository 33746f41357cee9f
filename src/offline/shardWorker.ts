/**
 * The worker side of the sharded offline batch (`ctxrec worker`): a BullMQ worker that takes shard
 * jobs (src/offline/shardQueue.ts), loads the model and the data a job names, encodes the users
 * of its shard into the store, and reports progress per chunk. Any number of worker processes,
 * on any machines that see the same model folder, data and store, can share one queue.
 *
 * Checks per job, each a failure of the shard (and so of the run) with a CtxrecError code in the
 * reason (`CODE: message`): the model folder's version must be the run's (a worker holding another
 * model must not write under the run's version), the data's ids must be the model's, and the shard
 * must hold as many users as the coordinator counted (every worker must read the same data).
 *
 * Caches: the last model folder opened (reopened when its version changed on disk) and the data
 * set of the last run (a new run reloads, so a daily run never reuses yesterday's data).
 */
import { type Job, Worker } from "bullmq";
import { CtxrecError, wrapError } from "../core/errors.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import { loadDataset } from "../data/load.ts";
import type { OnnxModelHandle } from "../onnx/runtime.ts";
import { openFeatureStore } from "../store/open.ts";
import { encodeUsers } from "./encodeUsers.ts";
import { readModelVocabs, requireModelVocabs } from "./modelData.ts";
import { openOfflineModel } from "./openModel.ts";
import {
  DEFAULT_QUEUE_NAME,
  type QueueTarget,
  queueConnection,
  type ShardJob,
  type ShardProgress,
  type ShardResult,
} from "./shardQueue.ts";
import { shardUsers } from "./shards.ts";
import { usersToEncode } from "./users.ts";

/** Arguments of `startShardWorker`; every field has a default. */
export interface ShardWorkerArgs {
  /** Shard jobs run at once in this process. Default 1. */
  concurrency?: number;
  /** onnxruntime intra-op threads of the encoder. Default 2. */
  threads?: number;
  /** BullMQ lock duration (ms): a job whose lock is not renewed for this long counts as stalled. Default 30000. */
  lockDuration?: number;
  /** BullMQ stalled-job check interval (ms). Default 30000. */
  stalledInterval?: number;
  /** How often a job may stall (its worker died) and be retried before it fails. Default 2. */
  maxStalledCount?: number;
  /** Called with one line per job started, completed or failed. */
  log?: (line: string) => void;
}

/** A running worker; `close()` waits for the jobs in flight, then releases model and connections. */
export interface ShardWorker {
  worker: Worker<ShardJob, ShardResult>;
  close(): Promise<void>;
}

/** Model folder cache: one handle, reopened when the folder now holds another version. */
class ModelCache {
  private current: { dir: string; handle: Promise<OnnxModelHandle> } | undefined;
  /** Handles replaced while a job may still use them; closed with the worker. */
  private readonly retired: Promise<OnnxModelHandle>[] = [];
  constructor(private readonly threads: number) {}

  async get(dir: string, wanted: string): Promise<OnnxModelHandle> {
    if (this.current?.dir === dir) {
      // A folder that failed to open is tried again (it may have been fixed since).
      const h = await this.current.handle.catch(() => undefined);
      if (h?.version === wanted) return h;
    }
    if (this.current !== undefined) this.retired.push(this.current.handle);
    const handle = openOfflineModel(dir, this.threads);
    handle.catch(() => undefined);
    this.current = { dir, handle };
    return handle;
  }

  async close(): Promise<void> {
    const all = [...this.retired, ...(this.current !== undefined ? [this.current.handle] : [])];
    await Promise.all(all.map((h) => h.then((m) => m.close()).catch(() => undefined)));
  }
}

/** Data cache: the data set of one run, shared by that run's shards in this process. */
class DataCache {
  private current: { runId: string; ds: Promise<CompiledDataset> } | undefined;

  get(job: ShardJob): Promise<CompiledDataset> {
    if (this.current?.runId !== job.runId) {
      const ds = loadDataset({ ...job.data });
      ds.catch(() => undefined);
      this.current = { runId: job.runId, ds };
    }
    return this.current.ds;
  }
}

/** Runs one shard job; throws CtxrecError on refusals (see the module comment). */
async function runShard(
  job: Job<ShardJob, ShardResult>,
  models: ModelCache,
  data: DataCache,
): Promise<ShardResult> {
  const d = job.data;
  const where = `shard ${d.shard} of ${d.shards}`;
  const model = await models.get(d.modelDir, d.modelVersion);
  if (model.version !== d.modelVersion) {
    throw new CtxrecError(
      "CTXREC_ERR_ARTIFACT_VERSION",
      `${where}: the model folder ${d.modelDir} on this worker holds version ${model.version}, the run encodes version ${d.modelVersion}; give every worker the run's model folder`,
      { param: "modelDir" },
    );
  }
  const ds = await data.get(d);
  requireModelVocabs(ds, readModelVocabs(d.modelDir), d.modelDir);
  const users = shardUsers(ds, usersToEncode(ds, d.since), d.shard, d.shards);
  if (users.length !== d.users) {
    throw new CtxrecError(
      "CTXREC_ERR_DATA_BAD_ROW",
      `${where}: the data at ${d.data.path} gives this shard ${users.length} users on this worker, the coordinator counted ${d.users}; every worker must read the same data as the coordinator`,
      { file: d.data.path },
    );
  }
  const store = await openFeatureStore(d.store, {
    modelVersion: model.version,
    dim: model.dim,
    mode: "write",
  });
  try {
    const r = await encodeUsers(ds, model.encoder, store, {
      modelVersion: model.version,
      dim: model.dim,
      maxLen: model.maxLen,
      batchSize: d.batchSize,
      since: d.since,
      users,
      activate: false,
      onProgress: (done, total) => job.updateProgress({ done, total } satisfies ShardProgress),
    });
    return { shard: d.shard, users: r.users, encoded: r.encoded, upToDate: r.upToDate, seconds: r.seconds };
  } finally {
    await store.close();
  }
}

/**
 * Starts a worker on `target`'s queue. A job's failure reason is `CODE: message` (a CtxrecError's
 * code, CTXREC_ERR_INTERNAL for anything else), which the coordinator turns back into its error.
 */
export function startShardWorker(target: QueueTarget, args: ShardWorkerArgs = {}): ShardWorker {
  const log = args.log ?? (() => {});
  const models = new ModelCache(args.threads ?? 2);
  const data = new DataCache();
  const worker = new Worker<ShardJob, ShardResult>(
    target.name ?? DEFAULT_QUEUE_NAME,
    async (job) => {
      log(`job ${job.id}: shard ${job.data.shard} of ${job.data.shards}, ${job.data.users} users`);
      try {
        return await runShard(job, models, data);
      } catch (err) {
        const e = wrapError("CTXREC_ERR_INTERNAL", err, "see the worker's log");
        throw new Error(`${e.code}: ${e.message}`, { cause: err });
      }
    },
    {
      connection: queueConnection(target.url),
      ...(target.prefix !== undefined ? { prefix: target.prefix } : {}),
      concurrency: args.concurrency ?? 1,
      lockDuration: args.lockDuration ?? 30_000,
      stalledInterval: args.stalledInterval ?? 30_000,
      maxStalledCount: args.maxStalledCount ?? 2,
    },
  );
  worker.on("completed", (job, r) =>
    log(`job ${job.id}: done, ${r.encoded} encoded, ${r.upToDate} up to date`),
  );
  worker.on("failed", (job, err) => log(`job ${job?.id ?? "?"}: failed: ${err.message}`));
  worker.on("error", (err) => log(`worker error: ${err.message}`));
  return {
    worker,
    async close() {
      await worker.close();
      await models.close();
    },
  };
}
