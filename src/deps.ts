import { readFileSync } from "node:fs";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { PoolLoader } from "./campaigns/load-pool.js";
import { loadCodeSecret } from "./campaigns/repository.js";
import { CodeGenerator } from "./codes/generator.js";
import { createDb, createPool, ensureDatabase, parseDatabaseUrl, type Db, type MysqlPool } from "./db/client.js";
import { runMigrations } from "./db/migrate.js";
import { createRedis } from "./redis/client.js";
import { RedisKeys } from "./redis/keys.js";
import { ACK_ISSUES_SCRIPT_FILE, ISSUE_SCRIPT_FILE, registerScripts, runIssueScriptsThrough, type ScriptedRedis } from "./redis/scripts.js";
import { ScriptPipe, scriptPipeTarget } from "./redis/script-pipe.js";
import { RedisClock } from "./issue/redis-clock.js";
import { RefusalMemo } from "./issue/refusal-memo.js";
import { KnownShards } from "./issue/sub-pool-walk.js";
import type { IssueRateLimits } from "./issue/issue.js";

/** Everything that holds a connection or a secret, built once at start and closed on shutdown. */
export type Deps = {
  config: Config;
  logger: Logger;
  mysqlPool: MysqlPool;
  db: Db;
  /** Auto-pipelined connection for IssueCoupon (its issue script runs through `issuePipe` when there is one). */
  redis: ScriptedRedis;
  /** The issue script's own connection on a single Redis (src/redis/script-pipe.ts); absent on a cluster. */
  issuePipe: ScriptPipe | undefined;
  /** Connection for bulk work: pool loads, the persister's rarer reads, whole-stream reads. */
  bulkRedis: ScriptedRedis;
  /** The persister's own connection on a single Redis, when it runs (PERSISTER on or only; src/persist/persister.ts). */
  persisterPipe: ScriptPipe | undefined;
  keys: RedisKeys;
  codes: CodeGenerator;
  loader: PoolLoader;
  /** Redis's clock as this process measures it, for local "not started" answers. */
  redisClock: RedisClock;
  /** Refusals this instance may answer without Redis (src/issue/refusal-memo.ts). */
  refusals: RefusalMemo;
  /** Campaigns split into sub-pools, learnt from the issue script (src/issue/sub-pool-walk.ts). */
  shards: KnownShards;
  /** Optional limits on IssueCoupon calls per user and per client address. */
  rateLimits: IssueRateLimits;
};

/** A start-up failure a person can act on: what is down, where, and how to start it. */
export class StartupError extends Error {
  override readonly name = "StartupError";
}

function where(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || (u.protocol === "mysql:" ? 3306 : 6379)}`;
}

export async function createDeps(config: Config, logger: Logger): Promise<Deps> {
  const target = parseDatabaseUrl(config.DATABASE_URL);
  try {
    await ensureDatabase(target);
  } catch (err) {
    throw new StartupError(
      `MySQL is not reachable at ${where(config.DATABASE_URL)} (${(err as Error).message}).\n` +
        "Start it (on this machine: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd)\n" +
        "or point DATABASE_URL at a running server.",
    );
  }
  const mysqlPool = createPool(target);
  mysqlPool.on("connection", (conn) => conn.on("error", (err) => logger.warn({ err }, "MySQL connection error")));
  const db = createDb(mysqlPool);
  await runMigrations(db, mysqlPool);
  const codes = new CodeGenerator(await loadCodeSecret(db));

  const redisTarget = { url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES?.split(",") };
  const redis = registerScripts(createRedis(redisTarget, "issue", config.REDIS_COMMAND_TIMEOUT_MS));
  const bulkRedis = registerScripts(createRedis(redisTarget, "bulk", config.REDIS_COMMAND_TIMEOUT_MS));
  const issuePipe = scriptPipeFor(config, "coupons-issue-pipe", ISSUE_SCRIPT_FILE);
  const persisterPipe = config.PERSISTER === "off" ? undefined : scriptPipeFor(config, "coupons-persister-pipe", ACK_ISSUES_SCRIPT_FILE);
  for (const r of redisConnections({ redis, bulkRedis, issuePipe, persisterPipe })) {
    r.on("error", (err: unknown) => logger.debug({ err }, "Redis connection error"));
  }
  try {
    await Promise.all([redis.connect(), bulkRedis.connect(), issuePipe?.connect(), persisterPipe?.connect()]);
    if (issuePipe) runIssueScriptsThrough(redis, issuePipe);
  } catch (err) {
    redis.disconnect();
    bulkRedis.disconnect();
    await Promise.all([issuePipe?.quit(), persisterPipe?.quit()]);
    await mysqlPool.end();
    throw new StartupError(
      `Redis is not reachable at ${config.REDIS_CLUSTER_NODES ? `cluster ${config.REDIS_CLUSTER_NODES}` : where(config.REDIS_URL)} (${(err as Error).message}).\n` +
        "Start it (on this machine: redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save \"\" --appendonly no)\n" +
        "or point REDIS_URL at a running server.",
    );
  }
  const keys = new RedisKeys(config.REDIS_KEY_PREFIX);
  const loader = new PoolLoader({
    db,
    bulkRedis,
    keys,
    codes,
    logger,
    initialIssueBudget: config.ISSUE_BUDGET_INITIAL,
    loadLeaseMs: config.LOAD_LEASE_MS,
  });
  const rateLimits = {
    perUser: config.ISSUE_RATE_LIMIT_PER_USER,
    perIp: config.ISSUE_RATE_LIMIT_PER_IP,
    windowMs: config.ISSUE_RATE_LIMIT_WINDOW_MS,
  };
  const redisClock = new RedisClock(redis);
  redisClock.start();
  const refusals = new RefusalMemo(bulkRedis, keys, redisClock, logger);
  const shards = new KnownShards();
  return { config, rateLimits, logger, mysqlPool, db, redis, bulkRedis, issuePipe, persisterPipe, keys, codes, loader, redisClock, refusals, shards };
}

/**
 * A connection of its own running `luaFile` (src/redis/script-pipe.ts), not yet connected, on a
 * single Redis; undefined on a cluster (ioredis routes by slot) or a URL it cannot take (TLS):
 * that path then stays on ioredis.
 */
function scriptPipeFor(config: Config, connectionName: string, luaFile: URL): ScriptPipe | undefined {
  const target = config.REDIS_CLUSTER_NODES ? undefined : scriptPipeTarget(config.REDIS_URL);
  if (!target) return undefined;
  return new ScriptPipe({ ...target, connectionName, commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS, lua: readFileSync(luaFile, "utf8") });
}

type Connections = Pick<Deps, "redis" | "bulkRedis" | "issuePipe" | "persisterPipe">;

/** Every Redis connection a request may use: /readyz pings them all. */
export function requestRedisConnections(deps: Omit<Connections, "persisterPipe">): Array<ScriptedRedis | ScriptPipe> {
  return deps.issuePipe ? [deps.redis, deps.bulkRedis, deps.issuePipe] : [deps.redis, deps.bulkRedis];
}

/** Every Redis connection of the process, the persister's too: their errors are counted. */
export function redisConnections(deps: Connections): Array<ScriptedRedis | ScriptPipe> {
  const all = requestRedisConnections(deps);
  return deps.persisterPipe ? [...all, deps.persisterPipe] : all;
}

/** Waits for pool loads in progress, then closes every connection. */
export async function closeDeps(deps: Deps): Promise<void> {
  deps.redisClock.stop();
  await deps.loader.idle();
  await Promise.allSettled([deps.redis.quit(), deps.bulkRedis.quit(), deps.issuePipe?.quit(), deps.persisterPipe?.quit()]);
  await deps.mysqlPool.end();
}
