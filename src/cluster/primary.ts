import cluster, { type Worker } from "node:cluster";
import type { Logger } from "pino";
import { MetricsAggregator, type InstanceMetricsMessage } from "./instance-metrics.js";

/** Messages a worker sends to the primary. */
export type WorkerMessage = { type: "ready" } | InstanceMetricsMessage;

/** Longest pause between two restarts of a crashing worker, in ms. */
const MAX_RESTART_DELAY_MS = 10_000;

/**
 * The primary process of `WORKERS > 1`: forks that many workers, each a full instance (HTTP on
 * the shared port, persister in the shared consumer group), restarts a worker that dies, and on
 * SIGTERM/SIGINT passes the signal on and exits once every worker has shut down gracefully.
 * A worker that fails before it was ever ready (MySQL or Redis unreachable at start) is not
 * restarted: its own message says what is wrong, and the primary exits non-zero.
 * It also aggregates the workers' metrics for /metrics (./instance-metrics.ts).
 */
export function runPrimary(workers: number, logger: Logger, shutdownTimeoutMs: number): void {
  let stopping = false;
  let restarts = 0;
  /** Non-zero once any worker failed to stop cleanly: the primary then exits non-zero too. */
  let exitCode = 0;
  const everReady = new WeakSet<Worker>();
  /** Workers that reported ready and have not exited: the ones whose metrics make up the instance. */
  const serving = new Set<Worker>();
  const metrics = new MetricsAggregator(() => serving);

  const fork = () => {
    const w = cluster.fork();
    w.on("message", (m: WorkerMessage) => {
      if (m?.type === "ready") {
        everReady.add(w);
        serving.add(w);
        restarts = 0;
        return;
      }
      metrics.handle(w, m);
    });
  };

  cluster.on("exit", (worker, code, signal) => {
    serving.delete(worker);
    metrics.forget(worker);
    if (stopping) {
      if (code !== 0 || signal) exitCode = 1;
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(exitCode);
      return;
    }
    if (!everReady.has(worker)) {
      logger.error({ code, signal }, "a worker failed at start-up; stopping");
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.kill("SIGTERM");
      setTimeout(() => process.exit(1), 1000).unref();
      return;
    }
    const delayMs = Math.min(100 * 2 ** restarts++, MAX_RESTART_DELAY_MS);
    logger.error({ pid: worker.process.pid, code, signal, restartInMs: delayMs }, "worker died; restarting it");
    setTimeout(fork, delayMs);
  });

  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "passing the signal on to the workers");
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
    setTimeout(() => {
      logger.error("workers took too long to stop; exiting");
      process.exit(1);
    }, shutdownTimeoutMs + 2000).unref();
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));

  for (let i = 0; i < workers; i++) fork();
  logger.info({ workers }, "started workers");
}

/** Called by a worker once it serves: lets the primary tell start-up failures from crashes. */
export function reportReady(): void {
  if (cluster.isWorker) process.send?.({ type: "ready" } satisfies WorkerMessage);
}
