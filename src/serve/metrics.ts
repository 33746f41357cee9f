/**
 * The service's Prometheus metrics (prom-client), one registry PER SERVER (no module-level
 * registry: two servers in one process, as in the tests, must not share counts).
 *
 *   ctxrec_request_duration_seconds{stage}   histogram: store, tower, ann, total (successful requests)
 *   ctxrec_requests_total{outcome}           ok | error
 *   ctxrec_request_errors_total{code,status} errors by kind (ctxrec error code or FST_* code)
 *   ctxrec_cold_start_total                  requests answered on the empty-history state
 *   ctxrec_state_age_seconds                 histogram: age of the cached state served (now − the
 *                                            newest event it saw), requests with a state only
 *   ctxrec_unknown_values_total{field}       request values treated as missing
 *   ctxrec_store_version_refusals_total      store reads/opens refused for another model version
 *   ctxrec_store_corrupt_records_total       store records that failed their integrity check
 *   ctxrec_reloads_total{result}             hot swaps: ok | refused
 *   ctxrec_model_info{version}               1 for the version being served
 * plus prom-client's default process metrics.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { StoreCounters } from "../store/featureStore.ts";
import type { StageTimings } from "./candidates.ts";

export interface ServeMetrics {
  registry: Registry;
  observe(t: StageTimings, totalMs: number): void;
  error(code: string, status: number): void;
  ok(): void;
  coldStart(): void;
  /** The `stateAgeSeconds` of a request answered from a cached state. */
  stateAge(seconds: number): void;
  unknownValue(field: string): void;
  reload(result: "ok" | "refused"): void;
  setModel(version: string): void;
}

// 25 µs … 1 s: the goal is p99 ≤ 2 ms end to end, so the fine buckets sit below it.
const BUCKETS = [
  0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05,
  0.1, 0.25, 1,
];

/** Creates the metrics of one server; `counters` are the store counters shared by its bundles. */
export function createServeMetrics(counters: StoreCounters): ServeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: "ctxrec_request_duration_seconds",
    help: "Latency of POST /v1/candidates per stage (store lookup, online tower, ANN search) and in total",
    labelNames: ["stage"],
    buckets: BUCKETS,
    registers: [registry],
  });
  const requests = new Counter({
    name: "ctxrec_requests_total",
    help: "Candidate requests by outcome",
    labelNames: ["outcome"],
    registers: [registry],
  });
  const errors = new Counter({
    name: "ctxrec_request_errors_total",
    help: "Failed requests by error code and HTTP status",
    labelNames: ["code", "status"],
    registers: [registry],
  });
  const cold = new Counter({
    name: "ctxrec_cold_start_total",
    help: "Requests answered on the cold-start path (no cached state for the user)",
    registers: [registry],
  });
  // 1 s … 7 d: a streamed state is seconds old, a daily batch's up to a day (and more for users
  // without new events), so the buckets separate the two regimes.
  const stateAge = new Histogram({
    name: "ctxrec_state_age_seconds",
    help: "Age of the cached state a request was answered from: seconds since the newest event it saw",
    buckets: [1, 5, 15, 60, 300, 900, 3600, 6 * 3600, 86_400, 2 * 86_400, 7 * 86_400],
    registers: [registry],
  });
  const unknown = new Counter({
    name: "ctxrec_unknown_values_total",
    help: "Request values unknown to the model and treated as missing, by field",
    labelNames: ["field"],
    registers: [registry],
  });
  // The store keeps its own counters (shared across bundles); these mirror them at scrape time.
  new Counter({
    name: "ctxrec_store_version_refusals_total",
    help: "Feature store reads or opens refused because the state belongs to another model version",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(counters.versionRefusals);
    },
  });
  new Counter({
    name: "ctxrec_store_corrupt_records_total",
    help: "Feature store records that failed their integrity check",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(counters.corruptRecords);
    },
  });
  const reloads = new Counter({
    name: "ctxrec_reloads_total",
    help: "Hot swaps by result (refused: the new bundle failed to load or its parts disagreed)",
    labelNames: ["result"],
    registers: [registry],
  });
  const info = new Gauge({
    name: "ctxrec_model_info",
    help: "1 for the model version being served",
    labelNames: ["version"],
    registers: [registry],
  });
  const store = duration.labels("store");
  const tower = duration.labels("tower");
  const ann = duration.labels("ann");
  const total = duration.labels("total");
  const okCount = requests.labels("ok");
  const errCount = requests.labels("error");
  return {
    registry,
    observe(t, totalMs) {
      store.observe(t.storeMs / 1000);
      tower.observe(t.towerMs / 1000);
      ann.observe(t.annMs / 1000);
      total.observe(totalMs / 1000);
    },
    error(code, status) {
      errCount.inc();
      errors.labels(code, String(status)).inc();
    },
    ok: () => okCount.inc(),
    coldStart: () => cold.inc(),
    stateAge: (seconds) => stateAge.observe(seconds),
    unknownValue: (field) => unknown.labels(field).inc(),
    reload: (result) => reloads.labels(result).inc(),
    setModel(version) {
      info.reset();
      info.labels(version).set(1);
    },
  };
}
