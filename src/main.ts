import cluster from "node:cluster";
import { reportReady, runPrimary } from "./cluster/primary.js";
import { ConfigError, loadConfig } from "./config.js";
import { createLogger } from "./logger.js";
import { listenForStop } from "./ops/shutdown.js";

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.LOG_LEVEL);
  if (cluster.isPrimary && config.WORKERS > 1) {
    // WORKERS full instances share the port, Redis, MySQL and the persisters' consumer group.
    runPrimary(config.WORKERS, logger, config.SHUTDOWN_TIMEOUT_MS);
    return;
  }
  // Listening from the start: under a primary, a Ctrl-C that reaches the process group while this
  // worker starts must not kill it; the primary's order to stop is taken once it serves.
  const stopOrder = listenForStop({ underPrimary: cluster.isWorker, logger, exitNow: () => process.exit(1) });
  // Loaded here, not at the top: the primary of WORKERS > 1 only forks and aggregates metrics,
  // and without the service's modules (drivers, protobuf, hono) it stays a small process.
  const [{ startService }, { StartupError }] = await Promise.all([import("./service.js"), import("./deps.js")]);
  let service;
  try {
    service = await startService(config, logger);
  } catch (err) {
    if (err instanceof StartupError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  logger.info({ url: service.url, persister: config.PERSISTER, issuePath: config.ISSUE_PATH }, "coupon service started");
  reportReady();

  // SIGTERM (orchestrators) or SIGINT (Ctrl-C), or the primary's order: stop gracefully, bounded
  // by SHUTDOWN_TIMEOUT_MS (src/ops/shutdown.ts listenForStop).
  void stopOrder.then((reason) => {
    logger.info({ reason, timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, "shutting down");
    const force = setTimeout(() => {
      logger.error({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, "shutdown took too long; exiting");
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    force.unref();
    service.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}

void main();
