import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { buildApp } from "./app.js";
import type { Config } from "./config.js";
import { closeDeps, createDeps, requestRedisConnections, StartupError, type Deps } from "./deps.js";
import { createConsoleFeed } from "./console/campaign-figures.js";
import { IssueBudget } from "./campaigns/issue-budget.js";
import { LoadRecovery } from "./campaigns/resume-loads.js";
import { Sweeper } from "./lifecycle/sweeper.js";
import { OPEN_ADMIN_WARNING } from "./ops/admin-auth.js";
import { Readiness } from "./ops/health.js";
import { userIdentityOf } from "./rpc/user-identity.js";
import { claimNamespace, deploymentCheck, loadDeploymentId, namespaceTakenMessage } from "./ops/deployment-identity.js";
import { checkSettings, refusalMessage } from "./ops/settings-check.js";
import { countConnectionErrors, MeteredPersister, timePoolLoads } from "./ops/instrument.js";
import { Metrics } from "./ops/metrics.js";
import { drainHttp, redisNowMs, waitForIssuesPersisted } from "./ops/shutdown.js";
import type { Persister, PersisterOptions } from "./persist/persister.js";

export type RunningService = {
  deps: Deps;
  metrics: Metrics;
  readiness: Readiness;
  /** Undefined when PERSISTER=only. */
  server: Server | undefined;
  /** Undefined when PERSISTER=off. */
  persister: Persister | undefined;
  /** e.g. http://127.0.0.1:8080 */
  url: string | undefined;
  /**
   * Graceful stop, bounded by SHUTDOWN_TIMEOUT_MS: reports not-ready, stops accepting, lets the
   * requests in flight finish, waits until the persisters have written every issue answered so
   * far (this instance's persister finishes and acknowledges the batch in hand), waits for pool
   * loads, then closes Redis and MySQL. Calling it again returns the same promise.
   */
  stop(): Promise<void>;
};

/** Shares of SHUTDOWN_TIMEOUT_MS: HTTP drains first, then the persisters catch up; the rest closes. */
const HTTP_DRAIN_SHARE = 0.4;
const PERSIST_WAIT_SHARE = 0.8;

/** Builds the dependencies, then serves HTTP and/or runs the persister as the config says. */
export async function startService(
  config: Config,
  logger: Logger,
  persisterOptions: Partial<PersisterOptions> = {},
): Promise<RunningService> {
  const deps = await createDeps(config, logger);
  // Every process checks for itself: each has its own /readyz, and a restarted worker sees Redis
  // as it is now. A refusal before any worker is ready stops the whole cluster (src/cluster/primary.ts).
  const settings = await checkSettings(deps, config.WORKERS);
  for (const finding of settings.report.findings) logger.warn({ settings: settings.report }, finding);
  if (config.REQUIRE_DURABLE_REDIS && settings.report.redis === "unsafe") {
    await closeDeps(deps);
    throw new StartupError(refusalMessage(settings.redisFindings));
  }
  // One deployment per Redis namespace (src/ops/deployment-identity.ts).
  const deploymentId = await loadDeploymentId(deps.db);
  const owner = await claimNamespace(deps.bulkRedis, config.REDIS_KEY_PREFIX, deploymentId);
  if (owner !== deploymentId) {
    await closeDeps(deps);
    throw new StartupError(namespaceTakenMessage(config.REDIS_KEY_PREFIX, deploymentId, owner));
  }
  try {
    // Builds the user-token key now, so a key that does not parse fails the start, not a call.
    userIdentityOf(config);
  } catch (err) {
    await closeDeps(deps);
    throw new StartupError(`USER_TOKEN_PUBLIC_KEY cannot be used: ${(err as Error).message}`);
  }
  const metrics = new Metrics();
  const readiness = new Readiness({
    mysqlPool: deps.mysqlPool,
    redis: requestRedisConnections(deps),
    settings: settings.report,
    deployment: { id: deploymentId, check: deploymentCheck(deps.bulkRedis, config.REDIS_KEY_PREFIX, deploymentId) },
  });
  countConnectionErrors(deps, metrics);
  timePoolLoads(deps, metrics);
  if (config.ADMIN_API_KEY === undefined && config.PERSISTER !== "only") {
    logger.warn(OPEN_ADMIN_WARNING);
  }

  const persister =
    config.PERSISTER === "off"
      ? undefined
      : new MeteredPersister(
          { db: deps.db, redis: deps.bulkRedis, pipe: deps.persisterPipe, keys: deps.keys, logger },
          { claimIdleMs: config.PERSISTER_CLAIM_IDLE_MS, ...persisterOptions },
          metrics,
        );
  persister?.start();
  // Loads that a dead instance left half done are finished here (src/campaigns/resume-loads.ts).
  const loadRecovery = new LoadRecovery({ ...deps, loadLeaseMs: config.LOAD_LEASE_MS });
  loadRecovery.start();
  // Keeps each open campaign's issue budget ahead of demand (src/campaigns/issue-budget.ts).
  const issueBudget = new IssueBudget(deps, {
    initial: config.ISSUE_BUDGET_INITIAL,
    minHeadroom: config.ISSUE_BUDGET_MIN_HEADROOM,
    headroomSeconds: config.ISSUE_BUDGET_HEADROOM_S,
    intervalMs: config.ISSUE_BUDGET_INTERVAL_MS,
  });
  issueBudget.start();
  const sweeper = new Sweeper(deps, { intervalMs: config.SWEEP_INTERVAL_MS, graceMs: config.CLOSED_CAMPAIGN_GRACE_MS });
  sweeper.start();

  const liveFeed = createConsoleFeed(deps);
  let server: Server | undefined;
  let url: string | undefined;
  if (config.PERSISTER !== "only") {
    const { listener } = buildApp(deps, { metrics, readiness, liveFeed });
    server = await new Promise<Server>((resolve, reject) => {
      const s = createServer(listener);
      s.once("error", reject);
      s.listen(config.PORT, config.HOST, () => resolve(s));
    });
    server.keepAliveTimeout = 65_000;
    const addr = server.address() as AddressInfo;
    url = `http://${addr.address === "0.0.0.0" || addr.address === "::" ? "127.0.0.1" : addr.address}:${addr.port}`;
  }

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      const begun = Date.now();
      const at = (share: number) => begun + config.SHUTDOWN_TIMEOUT_MS * share;
      readiness.markStopping();
      // Console feeds never end by themselves: end them, or the HTTP drain waits for them.
      liveFeed.close();
      if (server) {
        const drained = await drainHttp(server, at(HTTP_DRAIN_SHARE));
        logger.info({ ms: Date.now() - begun, drained }, drained ? "HTTP drained" : "HTTP drain timed out; cut the rest");
      }
      if (persister) {
        // Every issue answered so far is on a stream stamped no later than now (Redis's clock).
        try {
          const cutoffMs = await redisNowMs(deps.bulkRedis);
          const left = await waitForIssuesPersisted(
            deps.bulkRedis,
            deps.keys,
            cutoffMs,
            at(PERSIST_WAIT_SHARE),
            () => persister.failing,
          );
          if (left > 0) logger.warn({ left }, "issues not yet in MySQL stay on the streams for the next persister");
        } catch (err) {
          logger.warn({ err }, "cannot check the streams; unpersisted issues stay there for the next persister");
        }
        await persister.stop();
      }
      await sweeper.stop();
      await loadRecovery.stop();
      await issueBudget.stop();
      await closeDeps(deps);
      logger.info({ ms: Date.now() - begun }, "stopped");
    })());
  return { deps, metrics, readiness, server, persister, url, stop };
}
