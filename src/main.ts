import cluster from "node:cluster";
import { reportReady, runPrimary } from "./cluster/primary.js";
import { ConfigError, loadConfig } from "./config.js";
import { StartupError } from "./deps.js";
import { createLogger } from "./logger.js";
import { startService } from "./service.js";

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

  // SIGTERM (orchestrators) or SIGINT (Ctrl-C): stop gracefully, bounded by SHUTDOWN_TIMEOUT_MS.
  // A second signal while stopping exits at once.
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, "second signal while shutting down; exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, "shutting down");
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
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  // A worker whose primary is gone must not live on unsupervised.
  if (cluster.isWorker) process.on("disconnect", () => shutdown("primary gone"));
}

void main();
