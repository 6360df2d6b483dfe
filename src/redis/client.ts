import { Cluster, Redis, type RedisOptions } from "ioredis";

/** A single Redis or a Redis Cluster: every command the service sends works on both. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: a URL for one server, or seed nodes (`host:port`) of a Redis Cluster. */
export type RedisTarget = { url: string; clusterNodes?: readonly string[] };

/**
 * Connection settings for request paths: fail fast instead of queueing. With the offline queue
 * off, a command sent while Redis is down fails at once; `commandTimeout` bounds a command sent
 * to a Redis that stopped answering. Either way the caller gets `unavailable`, never a hang.
 *
 * No command is ever sent twice. ioredis by default resends, after a reconnect, every command
 * that was in flight when the connection closed (`autoResendUnfulfilledCommands`), even one Redis
 * had already run: an issue script would pop a second code, an RPUSH push a chunk twice. So
 * replays are off, and `maxRetriesPerRequest: 0` fails every in-flight command the moment its
 * connection closes (rather than at the next close, or at its timeout): the caller learns at once
 * that the command may or may not have run, and only code that knows its command is idempotent
 * (src/campaigns/pool-fill.ts) tries again.
 */
export function requestPathOptions(commandTimeoutMs: number): RedisOptions {
  return {
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    commandTimeout: commandTimeoutMs,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 100, 2000),
    lazyConnect: true,
  };
}

export type RedisRole = "issue" | "bulk";

/** Parses `REDIS_CLUSTER_NODES` ("host:port,host:port"). */
export function parseClusterNodes(list: string): Array<{ host: string; port: number }> {
  return list
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((hp) => {
      const at = hp.lastIndexOf(":");
      return { host: hp.slice(0, at), port: Number(hp.slice(at + 1)) };
    });
}

/**
 * The issue connection auto-pipelines: concurrent IssueCoupon calls share one write per event
 * loop tick, which halves Redis CPU per call (../shared/notes/limits.md). Bulk work (pool
 * loading, the persister, reads of whole streams) has its own connection so it never queues in
 * front of an issue. On a cluster, every campaign's keys share one hash slot ({id}), so each
 * script and MULTI goes to one node.
 */
export function createRedis(target: RedisTarget, role: RedisRole, commandTimeoutMs: number): RedisClient {
  const options: RedisOptions = {
    ...requestPathOptions(role === "issue" ? commandTimeoutMs : Math.max(commandTimeoutMs, 10_000)),
    connectionName: `coupons-${role}`,
  };
  if (target.clusterNodes && target.clusterNodes.length > 0) {
    return new Cluster(parseClusterNodes(target.clusterNodes.join(",")), {
      redisOptions: options,
      enableAutoPipelining: role === "issue",
      enableOfflineQueue: false,
      lazyConnect: true,
      scaleReads: "master",
      // A cluster retries a command whose node connection closed ("Connection is closed."), even
      // one that node had run: no replays here either (see requestPathOptions).
      retryDelayOnFailover: 0,
      clusterRetryStrategy: (times) => Math.min(times * 100, 2000),
    });
  }
  return new Redis(target.url, { ...options, enableAutoPipelining: role === "issue" });
}
