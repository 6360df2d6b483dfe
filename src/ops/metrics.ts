import cluster from "node:cluster";
import { Code } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Aggregator, type Metric } from "prom-client";
import { reportToPrimary, scrapeInstance } from "../cluster/instance-metrics.js";

/** Issue latency buckets, in seconds: one Redis round trip is ~0.2–2 ms here, a stall is seconds. */
export const ISSUE_LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

/** Connect codes are 1..16; slot 0 counts successes. */
const OUTCOME_SLOTS = 17;

function outcomeLabel(slot: number): string {
  return slot === 0 ? "ok" : codeToString(slot as Code);
}

/**
 * IssueCoupon's outcome counter and latency histogram, kept in two typed arrays: recording a call
 * is a few array writes, with no allocation, no label hashing and no I/O (prom-client's own
 * `labels().inc()` + `observe()` cost ~0.7 µs and allocate per call on this machine). The arrays
 * are turned into Prometheus samples only when /metrics is scraped.
 */
export class IssueMetrics {
  private readonly outcomes = new Float64Array(OUTCOME_SLOTS);
  /** counts[i] = calls with latency ≤ ISSUE_LATENCY_BUCKETS[i] and > the bucket before; last = +Inf. */
  private readonly counts = new Float64Array(ISSUE_LATENCY_BUCKETS.length + 1);
  private sumSeconds = 0;

  /**
   * Records one answered call: `code` is the Connect code of the answer (0 for success),
   * `startedMs` the `performance.now()` at which the request arrived.
   */
  record(code: Code | 0, startedMs: number): void {
    const seconds = (performance.now() - startedMs) / 1000;
    this.outcomes[code]!++;
    let i = 0;
    while (i < ISSUE_LATENCY_BUCKETS.length && seconds > ISSUE_LATENCY_BUCKETS[i]!) i++;
    this.counts[i]!++;
    this.sumSeconds += seconds;
  }

  /** Answers so far by outcome label ("ok", "resource_exhausted", …); for tests and the CLI. */
  outcomeCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let slot = 0; slot < OUTCOME_SLOTS; slot++) if (this.outcomes[slot]) out[outcomeLabel(slot)] = this.outcomes[slot]!;
    return out;
  }

  /** The two metrics in the shape prom-client's Registry renders (it reads name, help, type, get()). */
  promMetrics(): Metric[] {
    const outcomes = {
      name: "coupon_issue_total",
      help: "IssueCoupon answers by Connect code (ok for a code handed out), on both the fast and the connect-es path",
      type: "counter",
      aggregator: "sum",
      get: async () => ({
        ...outcomes,
        values: Array.from(this.outcomes.entries())
          .filter(([slot, n]) => slot === 0 || n > 0)
          .map(([slot, n]) => ({ value: n, labels: { code: outcomeLabel(slot) } })),
      }),
      reset: () => this.outcomes.fill(0),
    };
    const latency = {
      name: "coupon_issue_duration_seconds",
      help: "IssueCoupon latency inside this process, from request to answer, in seconds",
      type: "histogram",
      aggregator: "sum",
      get: async () => {
        const values: Array<{ value: number; labels: Record<string, string | number>; metricName: string }> = [];
        let cumulative = 0;
        ISSUE_LATENCY_BUCKETS.forEach((le, i) => {
          cumulative += this.counts[i]!;
          values.push({ value: cumulative, labels: { le }, metricName: "coupon_issue_duration_seconds_bucket" });
        });
        cumulative += this.counts[ISSUE_LATENCY_BUCKETS.length]!;
        values.push({ value: cumulative, labels: { le: "+Inf" }, metricName: "coupon_issue_duration_seconds_bucket" });
        values.push({ value: this.sumSeconds, labels: {}, metricName: "coupon_issue_duration_seconds_sum" });
        values.push({ value: cumulative, labels: {}, metricName: "coupon_issue_duration_seconds_count" });
        return { ...latency, values };
      },
      reset: () => {
        this.counts.fill(0);
        this.sumSeconds = 0;
      },
    };
    // prom-client's Registry only reads these members; its TypeScript type names its own classes.
    return [outcomes, latency] as unknown as Metric[];
  }
}

export type Dependency = "redis" | "mysql";
/** Where a dependency error was seen: a connection's error event, the persister, a request, a probe. */
export type ErrorSource = "connection" | "persister" | "request" | "readiness";

/** Figures read from Redis at scrape time (see ./live-figures.ts). */
export type LiveFigures = {
  /** Codes left in the pool of each open campaign (started, loaded, not sold out). */
  poolRemaining: ReadonlyMap<string, number>;
  /** Issues on the streams that MySQL does not have yet (not yet acknowledged by a persister). */
  lagEntries: number;
  /** Age of the oldest such issue, in seconds; 0 when there is none. */
  lagOldestSeconds: number;
  /** The same two figures per campaign with anything on its stream. */
  lagByCampaign: ReadonlyMap<string, { entries: number; oldestSeconds: number }>;
};

/** Said in the help text of every per-process gauge, so a reader of /metrics knows what one value means. */
const PER_PROCESS_GAUGE = "per process; with WORKERS > 1, the highest of the worker processes";

export type MetricsOptions = {
  /**
   * True in a node:cluster worker (the default there): /metrics then reports the whole instance,
   * every worker's figures aggregated by the primary (src/cluster/instance-metrics.ts).
   */
  clusterWorker?: boolean;
};

/**
 * Every metric of one service instance, in registries of its own (tests run several instances in
 * one process). Built once at start by `startService`; served on `GET /metrics`.
 *
 * Under `WORKERS > 1` one scrape describes the whole instance: `registry` holds what each process
 * counts for itself, summed over the workers (counters, histograms) or their maximum (gauges, said
 * in their help), and `sharedRegistry` the gauges of shared state read from Redis for the scrape by
 * the one worker answering it, so they are reported once and never multiplied by the workers.
 */
export class Metrics {
  /** Each process's own figures; aggregated over the workers by each metric's `aggregator`. */
  readonly registry = new Registry();
  /** State every worker would read alike (pools, persist lag): read once per scrape, reported once. */
  readonly sharedRegistry = new Registry();
  readonly issue = new IssueMetrics();
  private readonly clusterWorker: boolean;

  readonly rpcRequests = new Counter({
    name: "coupon_rpc_requests_total",
    help: "Calls answered by the connect-es router, by method and Connect code (ok for success)",
    labelNames: ["method", "code"] as const,
    registers: [this.registry],
  });
  readonly rpcDuration = new Histogram({
    name: "coupon_rpc_duration_seconds",
    help: "Latency of calls answered by the connect-es router, by method, in seconds",
    labelNames: ["method"] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly campaignLoadSeconds = new Histogram({
    name: "coupon_campaign_load_seconds",
    help: "Time from CreateCampaign to a fully loaded pool, in seconds",
    buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });
  readonly campaignLoadRate = new Gauge({
    name: "coupon_campaign_load_codes_per_second",
    help: "Codes generated and loaded per second by the last pool load this process finished",
    registers: [this.registry],
  });
  // The three gauges below are read from Redis by the worker answering the scrape; "first" says
  // how they would merge if ever aggregated (every worker reads the same Redis).
  readonly poolRemaining = new Gauge({
    name: "coupon_pool_remaining",
    help: "Codes left in the pool of each open campaign (read from Redis at scrape time, once per instance)",
    labelNames: ["campaign_id"] as const,
    aggregator: "first",
    registers: [this.sharedRegistry],
  });
  readonly persistLagEntries = new Gauge({
    name: "coupon_persist_lag_entries",
    help: "Issues on the Redis streams not yet written to MySQL and acknowledged, all campaigns (once per instance)",
    aggregator: "first",
    registers: [this.sharedRegistry],
  });
  readonly persistLagOldestSeconds = new Gauge({
    name: "coupon_persist_lag_oldest_seconds",
    help: "Age of the oldest issue not yet written to MySQL, in seconds (0 when there is none; once per instance)",
    aggregator: "first",
    registers: [this.sharedRegistry],
  });
  readonly campaignPersistLagEntries = new Gauge({
    name: "coupon_campaign_persist_lag_entries",
    help: "Issues of one campaign on its Redis stream not yet written to MySQL (campaigns with any; once per instance)",
    labelNames: ["campaign_id"] as const,
    aggregator: "first",
    registers: [this.sharedRegistry],
  });
  readonly campaignPersistLagOldestSeconds = new Gauge({
    name: "coupon_campaign_persist_lag_oldest_seconds",
    help: "Age of one campaign's oldest issue not yet written to MySQL, in seconds (campaigns with any; once per instance)",
    labelNames: ["campaign_id"] as const,
    aggregator: "first",
    registers: [this.sharedRegistry],
  });
  /** 1 per process: summed, it says how many workers a scrape describes. */
  readonly workers = new Gauge({
    name: "coupon_instance_workers",
    help: "Worker processes whose figures this scrape sums (1 without node:cluster)",
    aggregator: "sum",
    registers: [this.registry],
  });
  readonly persisterPassEntries = new Histogram({
    name: "coupon_persister_pass_entries",
    help: "Issues this instance's persister wrote and acknowledged per pass (at most one batch per campaign)",
    buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000],
    registers: [this.registry],
  });
  readonly dependencyErrors = new Counter({
    name: "coupon_dependency_errors_total",
    help: "Redis and MySQL errors, by dependency and where they were seen",
    labelNames: ["dependency", "source"] as const,
    registers: [this.registry],
  });

  readonly integrityAlarms = new Counter({
    name: "coupon_integrity_alarms_total",
    help: "Issues the persister could not record as they came (code_reused: the code is owned under another sequence; sequence_reused: the sequence holds another code or user), each counted once; see the integrity_alarms table",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly persisterSkips = new Counter({
    name: "coupon_persister_skipped_campaigns_total",
    help: "Campaigns a persister pass skipped because it could not read or write them (the others went on), by dependency",
    labelNames: ["dependency"] as const,
    registers: [this.registry],
  });

  constructor(options: MetricsOptions = {}) {
    for (const m of this.issue.promMetrics()) this.registry.registerMetric(m);
    for (const dependency of ["redis", "mysql"] as const) {
      for (const source of ["connection", "persister", "request", "readiness"] as const) {
        this.dependencyErrors.labels(dependency, source).inc(0);
      }
    }
    for (const kind of ["code_reused", "sequence_reused"]) this.integrityAlarms.labels(kind).inc(0);
    this.workers.set(1);
    collectDefaultMetrics({ register: this.registry });
    // A gauge of one process (memory, event-loop lag, handles, the last load's rate) summed over
    // workers means little, and prom-client averages some of them: report the worst worker.
    // prom-client's own "first" (version) and "omit" (start time) are left as they are.
    for (const m of this.registry.getMetricsAsArray() as unknown as Array<{ type: string; help: string; aggregator: Aggregator }>) {
      if (m.type !== "gauge" || m.aggregator === "first" || m.aggregator === "omit" || m === (this.workers as unknown)) continue;
      m.aggregator = "max";
      m.help = `${m.help} (${PER_PROCESS_GAUGE})`;
    }
    this.clusterWorker = options.clusterWorker ?? cluster.isWorker;
    if (this.clusterWorker) reportToPrimary(this.registry);
  }

  dependencyError(dependency: Dependency, source: ErrorSource): void {
    this.dependencyErrors.labels(dependency, source).inc();
  }

  setLiveFigures(f: LiveFigures): void {
    this.poolRemaining.reset();
    for (const [id, n] of f.poolRemaining) this.poolRemaining.labels(id).set(n);
    this.persistLagEntries.set(f.lagEntries);
    this.persistLagOldestSeconds.set(f.lagOldestSeconds);
    this.campaignPersistLagEntries.reset();
    this.campaignPersistLagOldestSeconds.reset();
    for (const [id, lag] of f.lagByCampaign) {
      this.campaignPersistLagEntries.labels(id).set(lag.entries);
      this.campaignPersistLagOldestSeconds.labels(id).set(lag.oldestSeconds);
    }
  }

  /**
   * The Prometheus text exposition of the whole instance: in a cluster worker, every worker's
   * figures aggregated by the primary. Rejects when a worker does not report in time (a partial
   * sum would look like a counter reset).
   */
  async render(): Promise<{ contentType: string; body: string }> {
    const [perProcess, shared] = await Promise.all([
      this.clusterWorker ? scrapeInstance() : this.registry.metrics(),
      this.sharedRegistry.metrics(),
    ]);
    return { contentType: this.registry.contentType, body: `${perProcess}\n${shared}` };
  }
}
