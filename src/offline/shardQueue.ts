/**
 * The offline batch as sharded jobs on a BullMQ queue (DESIGN.md §8): the coordinator side.
 *
 * `runShardedEncode` enqueues one job per user shard (src/offline/shards.ts) of one run, waits
 * until every job has completed, reporting progress over shards and users, and throws a
 * CtxrecError naming the shard and its reason as soon as one job fails. It never activates a
 * store version itself: `ctxrec encode --queue` activates only after it returned, so a failed run
 * leaves the active version unchanged. Workers (src/offline/shardWorker.ts) take the jobs.
 *
 * Retries: a worker that dies mid-shard stops renewing its job's lock; BullMQ's stalled-job check
 * (in every live worker) moves the job back to waiting and another worker runs the shard again.
 * The rerun is idempotent: users whose stored state is already up to date are skipped and puts
 * overwrite, so the result equals that of one clean pass. A job that throws is not retried
 * (`attempts: 1`): bad data or a model mismatch would fail again, and the run stops at once.
 */
import { randomBytes } from "node:crypto";
import { type ConnectionOptions, type Job, Queue } from "bullmq";
import { CtxrecError, ERROR_CODES, type ErrorCode, requireArg } from "../core/errors.ts";
import type { CompiledDataset } from "../data/dataset.ts";
import type { DataFormat } from "../data/load.ts";
import { openFeatureStore } from "../store/open.ts";
import { pingRedis, redisAddress } from "../store/redisCommon.ts";
import { describeStoreUrl, parseStoreUrl, type RedisStoreUrl } from "../store/url.ts";
import { shardSizes } from "./shards.ts";
import { usersToEncode } from "./users.ts";

/** The queue name `ctxrec encode --queue` and `ctxrec worker` use unless told otherwise. */
export const DEFAULT_QUEUE_NAME = "ctxrec-encode";

/** Where the shard jobs live: a Redis server, the queue's name and BullMQ's key prefix. */
export interface QueueTarget {
  url: RedisStoreUrl;
  /** BullMQ queue name. Default `DEFAULT_QUEUE_NAME`. */
  name?: string;
  /** BullMQ key prefix. Default BullMQ's own (`bull`). */
  prefix?: string;
}

/** What one shard job carries: everything a worker on another machine needs to run it. */
export interface ShardJob {
  /** Id of the run (all shards of one `encode --queue`). */
  runId: string;
  shard: number;
  shards: number;
  /** Users of this shard as the coordinator counted them; a worker seeing another count refuses. */
  users: number;
  /** Model folder (the same path on every worker's machine) and the version the run encodes. */
  modelDir: string;
  modelVersion: string;
  data: { format: DataFormat; path: string; attributes?: string; skipInvalid: boolean };
  /** The `--store` URL, as given. */
  store: string;
  batchSize: number;
  /** Unix seconds: the incremental run's `--since`. */
  since?: number;
}

/** What a worker returns for a completed shard. */
export interface ShardResult {
  shard: number;
  users: number;
  encoded: number;
  upToDate: number;
  seconds: number;
}

/** The progress a worker reports on its job after each chunk. */
export interface ShardProgress {
  done: number;
  total: number;
}

/**
 * `--queue` as a Redis URL (`redis://[[USER]:PASS@]HOST[:PORT][/DB]`); CTXREC_ERR_ARG naming
 * `param` for anything else (BullMQ needs one Redis server, not a file or a cluster URL).
 */
export function parseQueueUrl(text: string, param = "--queue"): RedisStoreUrl {
  let url: ReturnType<typeof parseStoreUrl>;
  try {
    url = parseStoreUrl(text);
  } catch (err) {
    const reason =
      err instanceof CtxrecError
        ? err.message.replace(/^parameter store URL: store URL /, "queue URL ")
        : String(err);
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `${reason.replace(/; use file:PATH.*$/, "")}; use redis://HOST:PORT[/DB]`,
      {
        param,
      },
    );
  }
  if (url.kind !== "redis") {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `queue URL ${JSON.stringify(text)} is not a Redis server URL; the job queue needs redis://HOST:PORT[/DB]`,
      { param },
    );
  }
  return url;
}

/** Throws CTXREC_ERR_ARG naming `param` unless `name` is a usable queue name. */
export function checkQueueName(name: string, param = "--queue-name"): void {
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(name)) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `queue name ${JSON.stringify(name)} is invalid; use 1-100 letters, digits, ".", "_" or "-"`,
      { param },
    );
  }
}

/** BullMQ connection options for `url` (`maxRetriesPerRequest: null`, as BullMQ workers require). */
export function queueConnection(url: RedisStoreUrl): ConnectionOptions {
  return { ...redisAddress(url), maxRetriesPerRequest: null };
}

/**
 * Resolves when a Redis server answers PING at `url` within 2 s; CTXREC_ERR_STORE naming `param`
 * otherwise (BullMQ itself would retry forever and the command would hang without a word).
 */
export async function checkQueueReachable(url: RedisStoreUrl, param = "--queue"): Promise<void> {
  try {
    (await pingRedis(url, 2000)).disconnect();
  } catch (err) {
    throw new CtxrecError(
      "CTXREC_ERR_STORE",
      `no Redis server answers at ${describeStoreUrl(url)} (${err instanceof Error ? err.message : String(err)}); start one or fix the URL`,
      { param },
      { cause: err },
    );
  }
}

/** A fresh run id: time (base 36) and 4 random bytes. */
export function newRunId(): string {
  return `${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
}

/** The job id of shard `shard` of run `runId` (BullMQ custom ids may not contain ":"). */
export const shardJobId = (runId: string, shard: number): string => `${runId}-s${shard}`;

/** Arguments of `runShardedEncode`. */
export interface RunShardsArgs {
  /** Users per shard `[shards]`, as `shardSizes` counts them; its length is the shard count. */
  sizes: readonly number[];
  /** The job fields shared by every shard. */
  job: Omit<ShardJob, "runId" | "shard" | "shards" | "users">;
  /** Run id. Default `newRunId()`. */
  runId?: string;
  /** Milliseconds between two looks at the jobs' states. Default 250. */
  pollMs?: number;
  /** Called after every look: shards completed, shards, users visited, users. */
  onProgress?: (shardsDone: number, shards: number, usersDone: number, users: number) => void;
}

/** What a completed run did. */
export interface ShardRunReport {
  runId: string;
  shards: ShardResult[];
  users: number;
  encoded: number;
  upToDate: number;
  seconds: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The code of a worker's failure reason (`CODE: message`, see shardWorker.ts), or undefined. */
function reasonCode(reason: string): ErrorCode | undefined {
  const m = /^(CTXREC_ERR_[A-Z_]+): /.exec(reason);
  return m !== null && m[1] in ERROR_CODES ? (m[1] as ErrorCode) : undefined;
}

/**
 * Enqueues one job per shard on `target`, waits for all of them and returns what they did. A failed
 * shard throws a CtxrecError with the shard's code (CTXREC_ERR_STORE when it has none) and a
 * message naming the shard, the job and the reason; the run's jobs still waiting are removed.
 */
export async function runShardedEncode(target: QueueTarget, args: RunShardsArgs): Promise<ShardRunReport> {
  const shards = args.sizes.length;
  requireArg(shards >= 1, "sizes", "a run needs at least one shard");
  const runId = args.runId ?? newRunId();
  const pollMs = args.pollMs ?? 250;
  const totalUsers = args.sizes.reduce((a, b) => a + b, 0);
  const started = performance.now();
  const queue = new Queue<ShardJob, ShardResult>(target.name ?? DEFAULT_QUEUE_NAME, {
    connection: queueConnection(target.url),
    ...(target.prefix !== undefined ? { prefix: target.prefix } : {}),
  });
  queue.on("error", () => {});
  const jobs: Job<ShardJob, ShardResult>[] = [];
  try {
    const added = await queue.addBulk(
      args.sizes.map((users, shard) => ({
        name: "encode-shard",
        data: { ...args.job, runId, shard, shards, users },
        opts: { jobId: shardJobId(runId, shard), attempts: 1 },
      })),
    );
    jobs.push(...added);
    const results: (ShardResult | undefined)[] = new Array(shards).fill(undefined);
    const usersDone = new Array<number>(shards).fill(0);
    for (;;) {
      for (let s = 0; s < shards; s++) {
        if (results[s] !== undefined) continue;
        // State first, then the job: a terminal state is final, so the job read after it carries
        // its reason or result (read the other way round, a job may finish in between).
        const state = await queue.getJobState(shardJobId(runId, s));
        const job = await queue.getJob(shardJobId(runId, s));
        if (state === "unknown" || job === undefined) {
          throw new CtxrecError(
            "CTXREC_ERR_STORE",
            `shard ${s} of ${shards} (job ${shardJobId(runId, s)}) vanished from the queue; was it removed by hand? The active store version is unchanged`,
            { param: "--queue" },
          );
        }
        if (state === "failed") {
          const reason = job.failedReason ?? "no reason recorded";
          throw new CtxrecError(
            reasonCode(reason) ?? "CTXREC_ERR_STORE",
            `shard ${s} of ${shards} (job ${job.id}) failed: ${reason}; the run is stopped and the active store version is unchanged (fix the cause and rerun: users already written are skipped)`,
          );
        }
        if (state === "completed") {
          results[s] = job.returnvalue;
          usersDone[s] = args.sizes[s];
        } else {
          const p = job.progress as Partial<ShardProgress> | number;
          if (typeof p === "object" && typeof p.done === "number") usersDone[s] = p.done;
        }
      }
      const done = results.filter((r) => r !== undefined).length;
      args.onProgress?.(
        done,
        shards,
        usersDone.reduce((a, b) => a + b, 0),
        totalUsers,
      );
      if (done === shards) break;
      await sleep(pollMs);
    }
    const out = results as ShardResult[];
    await Promise.all(jobs.map((j) => j.remove().catch(() => undefined)));
    return {
      runId,
      shards: out,
      users: out.reduce((a, r) => a + r.users, 0),
      encoded: out.reduce((a, r) => a + r.encoded, 0),
      upToDate: out.reduce((a, r) => a + r.upToDate, 0),
      seconds: (performance.now() - started) / 1000,
    };
  } catch (err) {
    // Stop what has not started; a shard in flight cannot be removed and finishes on its own.
    await Promise.all(
      jobs.map(async (j) => {
        if ((await j.getState().catch(() => "unknown")) === "waiting")
          await j.remove().catch(() => undefined);
      }),
    );
    throw err;
  } finally {
    await queue.close();
  }
}

/** Arguments of `shardedEncodeIntoStore`. */
export interface ShardedEncodeArgs {
  shards: number;
  /** The model folder workers open, and its version, width and L (from the coordinator's open). */
  model: { dir: string; version: string; dim: number; maxLen: number };
  data: ShardJob["data"];
  /** The `--store` URL as given (workers parse it themselves). */
  store: string;
  batchSize: number;
  since?: number;
  runId?: string;
  pollMs?: number;
  onProgress?: RunShardsArgs["onProgress"];
}

/**
 * `ctxrec encode --queue`: creates the model version's namespace in the store (so that workers
 * never race to), splits the users of `ds` (those `usersToEncode` visits) into shards, runs them on
 * the queue and, for a full run (no `since`), activates the version once every shard completed.
 * A failed shard throws before anything is activated. Also returns the active version after the run.
 */
export async function shardedEncodeIntoStore(
  ds: CompiledDataset,
  target: QueueTarget,
  args: ShardedEncodeArgs,
): Promise<ShardRunReport & { activated: boolean; activeVersion: string | undefined }> {
  const { model } = args;
  const sizes = shardSizes(ds, usersToEncode(ds, args.since), args.shards);
  const store = await openFeatureStore(args.store, {
    modelVersion: model.version,
    dim: model.dim,
    mode: "write",
  });
  try {
    const report = await runShardedEncode(target, {
      sizes,
      job: {
        modelDir: model.dir,
        modelVersion: model.version,
        data: args.data,
        store: args.store,
        batchSize: args.batchSize,
        ...(args.since !== undefined ? { since: args.since } : {}),
      },
      runId: args.runId,
      pollMs: args.pollMs,
      onProgress: args.onProgress,
    });
    const activated = args.since === undefined;
    if (activated) await store.activate();
    return { ...report, activated, activeVersion: await store.activeVersion() };
  } finally {
    await store.close();
  }
}
