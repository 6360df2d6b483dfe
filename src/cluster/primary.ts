import cluster, { type Worker } from "node:cluster";
import type { Logger } from "pino";
import { MetricsAggregator, type InstanceMetricsMessage } from "./instance-metrics.js";
import { REPEATED_SIGNAL_MS, type StopOrder } from "../ops/shutdown.js";
import { workerEnv } from "./worker-env.js";

/** Messages a worker sends to the primary. */
export type WorkerMessage = { type: "ready" } | InstanceMetricsMessage;

/** Longest pause between two restarts of a crashing worker, in ms. */
const MAX_RESTART_DELAY_MS = 10_000;

/**
 * The primary process of `WORKERS > 1`: forks that many workers, each a full instance (HTTP on
 * the shared port, persister in the shared consumer group), restarts a worker that dies, and on
 * SIGTERM/SIGINT orders every worker to stop and exits once each has shut down gracefully; a
 * second signal (not the same one delivered twice) makes them all exit at once.
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
    if (stopping) return; // a restart that was due when the stop began
    const w = cluster.fork(workerEnv(process.env));
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

  // Workers take their orders from here alone (src/ops/shutdown.ts listenForStop) and ignore the
  // copy of a Ctrl-C the process group delivers them: docker and systemd's `mixed` mode signal
  // the primary only, a terminal signals everyone, and each worker must hear one order either way.
  let firstSignalMs: number | undefined;
  const order = (o: StopOrder) => {
    for (const w of Object.values(cluster.workers ?? {})) if (w?.isConnected()) w.send(o);
  };
  const shutdown = (signal: NodeJS.Signals) => {
    if (firstSignalMs !== undefined) {
      // The same Ctrl-C delivered twice (terminal and npm) is one; a person pressing it again is two.
      if (Date.now() - firstSignalMs < REPEATED_SIGNAL_MS) return;
      logger.warn({ signal }, "second signal while stopping; the workers exit now");
      order({ type: "exit-now", reason: `second ${signal}` });
      exitCode = 1;
      setTimeout(() => process.exit(1), 1000).unref();
      return;
    }
    firstSignalMs = Date.now();
    if (stopping) return; // already stopping after a failed start
    stopping = true;
    logger.info({ signal }, "telling the workers to stop");
    order({ type: "stop", reason: signal });
    setTimeout(() => {
      logger.error("workers took too long to stop; exiting");
      process.exit(1);
    }, shutdownTimeoutMs + 2000).unref();
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));

  for (let i = 0; i < workers; i++) fork();
  logger.info({ workers }, "started workers");
}

/** Called by a worker once it serves: lets the primary tell start-up failures from crashes. */
export function reportReady(): void {
  if (cluster.isWorker) process.send?.({ type: "ready" } satisfies WorkerMessage);
}
