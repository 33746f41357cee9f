/**
 * `ctxrec stream`: streaming state refresh (DESIGN §8 "Freshness", docs/scale.md). Consumes new
 * events from a Redis Stream as one consumer of a consumer group, keeps each touched user's last
 * L events in a per-user log beside the stream, re-encodes them with the model's ONNX encoder in
 * micro-batches and writes the states under the store's active version:
 *
 *   ctxrec stream --model DIR --events redis://HOST:PORT[/DB]/STREAM --store URL
 *                 [--group G] [--consumer NAME] [--batch-size 256] [--max-wait-ms 50]
 *                 [--format F --path P [--new-users]] [--from-start]
 *
 * Start any number, on any machines, with one group and distinct `--consumer` names. Runs until
 * SIGINT or SIGTERM, then finishes the micro-batch in hand, acknowledges it, prints the totals and
 * exits. With `--format/--path` (the data the daily batch encoded) a user's log is seeded from the
 * data the first time the stream touches it, and users the data does not know are refused as
 * malformed unless `--new-users`.
 */
import os from "node:os";
import type { Command } from "commander";
import { writeJsonAtomic } from "../../core/atomicFile.ts";
import { CtxrecError } from "../../core/errors.ts";
import { readModelVocabs, requireModelVocabs } from "../../offline/modelData.ts";
import { openOfflineModel } from "../../offline/openModel.ts";
import { openFeatureStore } from "../../store/open.ts";
import { connectRedis } from "../../store/redis.ts";
import { parseStoreUrl } from "../../store/url.ts";
import { requireActiveVersion, StreamConsumer } from "../../stream/consumer.ts";
import { entryRules } from "../../stream/entry.ts";
import { EventLog } from "../../stream/eventLog.ts";
import { describeEventsUrl, parseEventsUrl } from "../../stream/eventsUrl.ts";
import { codeMaps } from "../../stream/history.ts";
import { datasetSeeder } from "../../stream/seed.ts";
import { statsJson, statsLine } from "../../stream/stats.ts";
import { loadOptionalDataset } from "../dataOptions.ts";
import { intOption } from "../numbers.ts";

interface StreamOptions {
  model: string;
  events: string;
  store: string;
  group: string;
  consumer?: string;
  batchSize: string;
  maxWaitMs: string;
  claimIdleMs: string;
  claimIntervalMs: string;
  fromStart?: boolean;
  threads: string;
  logPrefix: string;
  logTtl: string;
  maxFuture: string;
  statsInterval: string;
  statsJson?: string;
  format?: string;
  path?: string;
  attributes?: string;
  newUsers?: boolean;
}

/** Throws CTXREC_ERR_ARG naming `param` unless `name` is a usable group or consumer name. */
function checkName(name: string, param: string): string {
  if (!/^[A-Za-z0-9._:-]{1,200}$/.test(name)) {
    throw new CtxrecError(
      "CTXREC_ERR_ARG",
      `${JSON.stringify(name)} is invalid; use 1-200 letters, digits, ".", "_", ":" or "-"`,
      { param },
    );
  }
  return name;
}

export function registerStreamCommand(program: Command): void {
  program
    .command("stream")
    .description(
      "streaming state refresh: consume new events from a Redis Stream (consumer group), re-encode touched users in micro-batches, write their states under the active version",
    )
    .requiredOption("--model <dir>", "the model folder whose version is the store's active one")
    .requiredOption("--events <url>", "the events stream: redis://HOST:PORT[/DB]/STREAM")
    .requiredOption(
      "--store <url>",
      "feature store: file:PATH (SQLite), redis://HOST:PORT[/DB] or redis-cluster://HOST:PORT,…",
    )
    .option("--group <name>", "consumer group (created when absent)", "ctxrec-stream")
    .option(
      "--consumer <name>",
      "this consumer's name in the group; keep it across restarts (default HOST-PID)",
    )
    .option("--batch-size <n>", "most entries per micro-batch", "256")
    .option("--max-wait-ms <ms>", "how long a micro-batch waits for more entries after its first", "50")
    .option("--claim-idle-ms <ms>", "take over entries pending this long at another consumer", "30000")
    .option("--claim-interval-ms <ms>", "how often to look for such entries", "5000")
    .option(
      "--from-start",
      "a group created now starts at the stream's first entry (default: new entries only)",
    )
    .option("--threads <n>", "onnxruntime intra-op threads", "2")
    .option("--log-prefix <prefix>", "key prefix of the per-user event logs", "ctxrec:ev")
    .option("--log-ttl <seconds>", "drop a user's event log this long after its last event (0: never)", "0")
    .option("--max-future <seconds>", "refuse events timed more than this ahead of the clock", "3600")
    .option("--stats-interval <seconds>", "seconds between two progress lines on stderr (0: none)", "10")
    .option(
      "--stats-json <file>",
      "on exit, write the counters and the freshness-lag quantiles to FILE (JSON)",
    )
    .option("--format <format>", "optional: the data set the daily batch encoded, to seed users' logs")
    .option("--path <path>", "optional: its path (with --format)")
    .option("--attributes <file>", "optional: s3rec attributes file (with --format s3rec)")
    .option("--new-users", "with --format/--path: accept users the data does not know (default: malformed)")
    .action(async (opts: StreamOptions) => {
      const events = parseEventsUrl(opts.events, "--events");
      const storeUrl = parseStoreUrl(opts.store);
      const group = checkName(opts.group, "--group");
      const consumerName = checkName(opts.consumer ?? `${os.hostname()}-${process.pid}`, "--consumer");
      const args = {
        batchSize: intOption(opts.batchSize, "--batch-size", 1, 100_000),
        maxWaitMs: intOption(opts.maxWaitMs, "--max-wait-ms", 0, 60_000),
        claimIdleMs: intOption(opts.claimIdleMs, "--claim-idle-ms", 100, 86_400_000),
        claimIntervalMs: intOption(opts.claimIntervalMs, "--claim-interval-ms", 100, 86_400_000),
      };
      const threads = intOption(opts.threads, "--threads", 1, 256);
      const ttl = intOption(opts.logTtl, "--log-ttl", 0, 2 ** 31 - 1);
      const maxFuture = intOption(opts.maxFuture, "--max-future", 0, 2 ** 31 - 1);
      const statsEvery = intOption(opts.statsInterval, "--stats-interval", 0, 86_400);
      if (opts.newUsers === true && opts.path === undefined) {
        throw new CtxrecError("CTXREC_ERR_ARG", "--new-users only applies with --format/--path", {
          param: "--new-users",
        });
      }
      const vocabs = readModelVocabs(opts.model);
      const ds = await loadOptionalDataset(opts);
      if (ds !== undefined) requireModelVocabs(ds, vocabs, opts.model);
      const model = await openOfflineModel(opts.model, threads);
      const cleanup: (() => Promise<unknown> | unknown)[] = [() => model.close()];
      try {
        const store = await openFeatureStore(storeUrl, {
          modelVersion: model.version,
          dim: model.dim,
          mode: "write",
        });
        cleanup.push(() => store.close());
        const redis = await connectRedis(events.server, describeEventsUrl(events), 2000).catch((err) => {
          // connectRedis names the store's flag; this server is the events'.
          const reason = (err as Error).message.replace(/^parameter store URL: /, "");
          throw new CtxrecError("CTXREC_ERR_STORE", reason, { param: "--events" }, { cause: err });
        });
        cleanup.push(() => redis.disconnect());
        const seeder = ds === undefined ? undefined : datasetSeeder(ds, model.maxLen + 1);
        const consumer = new StreamConsumer(
          redis,
          {
            log: new EventLog(redis, { prefix: opts.logPrefix, cap: model.maxLen + 1, ttlSeconds: ttl }),
            encoder: model.encoder,
            store,
            maps: codeMaps(vocabs),
            maxLen: model.maxLen,
            seeder,
            rules: entryRules(vocabs, {
              knownUser: seeder !== undefined && opts.newUsers !== true ? seeder.knownUser : undefined,
              maxFutureSeconds: maxFuture,
            }),
          },
          {
            ...args,
            stream: events.stream,
            group,
            consumer: consumerName,
            start: opts.fromStart === true ? "0" : "$",
            log: (line) => process.stderr.write(`ctxrec stream: ${line}\n`),
          },
        );
        await requireActiveVersion(store);
        const stop = () => {
          process.stderr.write("ctxrec stream: stopping after the micro-batch in hand\n");
          consumer.stop();
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        const ticker =
          statsEvery > 0
            ? setInterval(
                () =>
                  process.stderr.write(
                    `ctxrec stream: ${statsLine(consumer.stats, consumer.uptimeSeconds)}\n`,
                  ),
                statsEvery * 1000,
              )
            : undefined;
        process.stderr.write(
          `ctxrec stream: consumer ${consumerName} of group ${group} on ${describeEventsUrl(events)}, model ${model.version.slice(0, 12)} (L=${model.maxLen}); stop with Ctrl-C\n`,
        );
        try {
          const stats = await consumer.run();
          process.stdout.write(`${statsLine(stats, consumer.uptimeSeconds)}\n`);
          if (opts.statsJson !== undefined)
            writeJsonAtomic(opts.statsJson, statsJson(stats, consumer.uptimeSeconds));
        } finally {
          clearInterval(ticker);
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
        }
      } finally {
        for (const f of cleanup.reverse()) await f();
      }
    });
}
