/**
 * `ctxrec worker`: takes shard jobs of `ctxrec encode --queue` from a BullMQ queue and runs them
 * (src/offline/shardWorker.ts). Start any number, on any machines that see the same model folder,
 * data and store:
 *
 *   ctxrec worker --queue redis://HOST:PORT[/DB] [--concurrency C] [--threads T]
 *
 * Runs until SIGINT or SIGTERM, then finishes the jobs in flight and exits. A worker killed
 * outright loses nothing: its shard stalls and another worker runs it again (docs/scale.md).
 */
import type { Command } from "commander";
import {
  checkQueueName,
  checkQueueReachable,
  DEFAULT_QUEUE_NAME,
  parseQueueUrl,
} from "../../offline/shardQueue.ts";
import { startShardWorker } from "../../offline/shardWorker.ts";
import { intOption } from "../numbers.ts";

interface WorkerOptions {
  queue: string;
  queueName: string;
  concurrency: string;
  threads: string;
  lockDuration: string;
  stalledInterval: string;
  maxStalled: string;
}

export function registerWorkerCommand(program: Command): void {
  program
    .command("worker")
    .description("run shard jobs of `ctxrec encode --queue` (the sharded offline batch) until stopped")
    .requiredOption("--queue <url>", "the BullMQ queue's Redis server: redis://HOST:PORT[/DB]")
    .option("--queue-name <name>", "BullMQ queue name (the coordinator's --queue-name)", DEFAULT_QUEUE_NAME)
    .option("--concurrency <n>", "shard jobs run at once by this process", "1")
    .option("--threads <n>", "onnxruntime intra-op threads", "2")
    .option(
      "--lock-duration <ms>",
      "a job whose lock this worker stops renewing for this long counts as stalled (BullMQ lockDuration)",
      "30000",
    )
    .option(
      "--stalled-interval <ms>",
      "how often this worker looks for stalled jobs (BullMQ stalledInterval)",
      "30000",
    )
    .option(
      "--max-stalled <n>",
      "times a shard may stall (its worker died) and be retried before it fails",
      "2",
    )
    .action(async (opts: WorkerOptions) => {
      const url = parseQueueUrl(opts.queue, "--queue");
      checkQueueName(opts.queueName, "--queue-name");
      const args = {
        concurrency: intOption(opts.concurrency, "--concurrency", 1, 256),
        threads: intOption(opts.threads, "--threads", 1, 256),
        lockDuration: intOption(opts.lockDuration, "--lock-duration", 100, 3_600_000),
        stalledInterval: intOption(opts.stalledInterval, "--stalled-interval", 100, 3_600_000),
        maxStalledCount: intOption(opts.maxStalled, "--max-stalled", 0, 1000),
        log: (line: string) => process.stderr.write(`ctxrec worker: ${line}\n`),
      };
      await checkQueueReachable(url, "--queue");
      const w = startShardWorker({ url, name: opts.queueName }, args);
      await w.worker.waitUntilReady();
      process.stderr.write(
        `ctxrec worker: taking jobs from queue ${opts.queueName} (concurrency ${args.concurrency}); stop with Ctrl-C\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.stderr.write("ctxrec worker: stopping after the jobs in flight\n");
          void w.close().then(resolve, resolve);
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
    });
}
