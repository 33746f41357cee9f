/**
 * What `GET /metrics` answers under `serve --workers N`: the SUM over every replica's registry
 * (prom-client's `AggregatorRegistry.aggregate`, each metric by its cluster aggregator: counters
 * and histograms summed; `ctxrec_model_info{version}` then counts the replicas serving each
 * version) plus the primary's own two metrics:
 *
 *   ctxrec_workers                 replicas listening
 *   ctxrec_worker_restarts_total   replicas restarted after they died
 *
 * Summed rather than per replica because a scraper behind the one port reaches whichever replica
 * the primary hands the connection to: per-replica counters read that way would jump between them.
 */
import { AggregatorRegistry, Counter, Gauge, Registry } from "prom-client";
import type { RegistryJson } from "./replicaProtocol.ts";
import type { MetricsText } from "./server.ts";

/** The primary's metrics, one registry per primary. */
export class ReplicaMetrics {
  private readonly registry = new Registry();
  private readonly restarts: Counter;

  /** `listening()` gives the number of replicas listening at scrape time. */
  constructor(listening: () => number) {
    this.restarts = new Counter({
      name: "ctxrec_worker_restarts_total",
      help: "Serving replicas restarted by the primary after they died",
      registers: [this.registry],
    });
    new Gauge({
      name: "ctxrec_workers",
      help: "Serving replicas that are listening",
      registers: [this.registry],
      collect() {
        this.set(listening());
      },
    });
  }

  restarted(): void {
    this.restarts.inc();
  }

  /** The exposition of the replicas' registries summed, with the primary's metrics. */
  async exposition(perReplica: RegistryJson[]): Promise<MetricsText> {
    const merged = Registry.merge([AggregatorRegistry.aggregate(perReplica), this.registry]);
    return { contentType: merged.contentType, text: await merged.metrics() };
  }
}
