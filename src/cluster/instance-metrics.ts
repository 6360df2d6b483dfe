import cluster, { type Worker } from "node:cluster";
import { AggregatorRegistry, type Registry } from "prom-client";

/**
 * Whole-instance /metrics under the node:cluster primary (`WORKERS > 1`). A scrape reaches one
 * worker through the shared port; that worker asks the primary, the primary asks every serving
 * worker for its own registry (as prom-client JSON) and merges them with prom-client's
 * `AggregatorRegistry.aggregate` — each metric by its `aggregator` (counters and histograms
 * summed, per-process gauges maxed: see src/ops/metrics.ts) — and the text goes back to the
 * worker, which adds the gauges of shared state it read once for this scrape.
 *
 * Why not prom-client's own `clusterMetrics()`: it asks every connected worker, including one
 * still starting (its listener not yet installed), and then fails the scrape after 5 s. The
 * primary here asks only the workers that reported ready.
 */

/** Worker → primary: aggregate every worker's metrics for the scrape `id`. */
type ScrapeRequest = { type: "metrics:scrape"; id: number };
/** Primary → worker: the aggregated exposition, or why there is none. */
type ScrapeAnswer = { type: "metrics:scraped"; id: number; text?: string; error?: string };
/** Primary → worker: send your process's metrics for the collection `id`. */
type CollectRequest = { type: "metrics:collect"; id: number };
/** Worker → primary: one process's metrics as prom-client JSON. */
type Collected = { type: "metrics:collected"; id: number; metrics?: unknown[]; error?: string };

export type InstanceMetricsMessage = ScrapeRequest | ScrapeAnswer | CollectRequest | Collected;

/** How long the primary waits for every worker's figures, in ms. */
const COLLECT_TIMEOUT_MS = 3000;
/** How long a worker waits for the primary's answer, in ms: longer than a collection may take. */
const SCRAPE_TIMEOUT_MS = COLLECT_TIMEOUT_MS + 2000;

/** The primary's side: answers `metrics:scrape` from any worker. */
export class MetricsAggregator {
  private nextId = 0;
  private readonly collections = new Map<
    number,
    { waiting: Set<Worker>; responses: unknown[][]; done: (err: Error | undefined) => void }
  >();

  /** @param serving the workers whose figures make up the instance (those that reported ready). */
  constructor(private readonly serving: () => Iterable<Worker>) {}

  /** Handles a message from a worker; returns false when it is not one of these. */
  handle(worker: Worker, message: InstanceMetricsMessage): boolean {
    if (message?.type === "metrics:scrape") {
      void this.aggregate().then(
        (text) => send(worker, { type: "metrics:scraped", id: message.id, text }),
        (err: Error) => send(worker, { type: "metrics:scraped", id: message.id, error: err.message }),
      );
      return true;
    }
    if (message?.type === "metrics:collected") {
      const c = this.collections.get(message.id);
      if (!c || !c.waiting.delete(worker)) return true;
      if (message.error !== undefined) return (c.done(new Error(`worker ${worker.process.pid}: ${message.error}`)), true);
      c.responses.push(message.metrics ?? []);
      if (c.waiting.size === 0) c.done(undefined);
      return true;
    }
    return false;
  }

  /** A worker that exited is no longer waited for: its share of the counters goes with it. */
  forget(worker: Worker): void {
    for (const c of this.collections.values()) if (c.waiting.delete(worker) && c.waiting.size === 0) c.done(undefined);
  }

  /**
   * Every serving worker's metrics, aggregated. Fails (rather than sum fewer workers, which
   * Prometheus would read as a counter reset) when a worker does not answer in time.
   */
  private aggregate(): Promise<string> {
    const id = this.nextId++;
    const workers = [...this.serving()].filter((w) => w.isConnected());
    if (workers.length === 0) return Promise.reject(new Error("no worker is serving"));
    return new Promise<string>((resolve, reject) => {
      const responses: unknown[][] = [];
      const timer = setTimeout(
        () => done(new Error(`${collection.waiting.size} of ${workers.length} workers did not report within ${COLLECT_TIMEOUT_MS} ms`)),
        COLLECT_TIMEOUT_MS,
      );
      const done = (err: Error | undefined) => {
        if (!this.collections.delete(id)) return;
        clearTimeout(timer);
        if (err) return reject(err);
        // aggregate() takes the shape getMetricsAsJSON() returns; its TypeScript type is looser.
        AggregatorRegistry.aggregate(responses as Parameters<typeof AggregatorRegistry.aggregate>[0])
          .metrics()
          .then(resolve, reject);
      };
      const collection = { waiting: new Set(workers), responses, done };
      this.collections.set(id, collection);
      for (const w of workers) send(w, { type: "metrics:collect", id });
    });
  }
}

function send(target: Worker | NodeJS.Process, message: InstanceMetricsMessage): void {
  try {
    if (target === process) process.send?.(message);
    else (target as Worker).send(message);
  } catch {
    // The other side just went away: its collection times out, or nobody waits for the answer.
  }
}

/** The registry this worker reports to the primary (one service instance per worker process). */
let reported: Registry | undefined;
const scrapes = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void }>();
let nextScrapeId = 0;

/**
 * A worker's side: answers the primary's collections with `registry`, and reads the primary's
 * answers to this worker's scrapes. Installed once per process; a later registry replaces the
 * earlier one, so a process never reports two.
 */
export function reportToPrimary(registry: Registry): void {
  const first = reported === undefined;
  reported = registry;
  if (!first) return;
  process.on("message", (message: InstanceMetricsMessage) => {
    if (message?.type === "metrics:collect") {
      reported!.getMetricsAsJSON().then(
        // Only the fields aggregate() reads: the custom metrics' objects carry functions too.
        (metrics) =>
          send(process, {
            type: "metrics:collected",
            id: message.id,
            metrics: metrics.map(({ name, help, type, aggregator, values }) => ({ name, help, type, aggregator, values })),
          }),
        (err: Error) => send(process, { type: "metrics:collected", id: message.id, error: err.message }),
      );
    } else if (message?.type === "metrics:scraped") {
      const s = scrapes.get(message.id);
      if (!s) return;
      scrapes.delete(message.id);
      if (message.text !== undefined) s.resolve(message.text);
      else s.reject(new Error(`the instance's metrics are not available: ${message.error ?? "no answer"}`));
    }
  });
}

/** Asks the primary for every worker's metrics, aggregated (the exposition text). */
export function scrapeInstance(): Promise<string> {
  if (!cluster.isWorker) return Promise.reject(new Error("not a cluster worker"));
  const id = nextScrapeId++;
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      scrapes.delete(id);
      reject(new Error(`the instance's metrics are not available: the primary did not answer within ${SCRAPE_TIMEOUT_MS} ms`));
    }, SCRAPE_TIMEOUT_MS);
    scrapes.set(id, {
      resolve: (text) => (clearTimeout(timer), resolve(text)),
      reject: (err) => (clearTimeout(timer), reject(err)),
    });
    send(process, { type: "metrics:scrape", id });
  });
}
