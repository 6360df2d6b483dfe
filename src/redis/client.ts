import { Redis, type RedisOptions } from "ioredis";

/**
 * Connection settings for request paths: fail fast instead of queueing. With the offline queue
 * off, a command sent while Redis is down fails at once; `commandTimeout` bounds a command sent
 * to a Redis that stopped answering. Either way the caller gets `unavailable`, never a hang.
 */
export function requestPathOptions(commandTimeoutMs: number): RedisOptions {
  return {
    enableOfflineQueue: false,
    commandTimeout: commandTimeoutMs,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 100, 2000),
    lazyConnect: true,
  };
}

export type RedisRole = "issue" | "bulk";

/**
 * The issue connection auto-pipelines: concurrent IssueCoupon calls share one write per event
 * loop tick, which halves Redis CPU per call (../shared/notes/limits.md). Bulk work (pool
 * loading, the persister, reads of whole streams) has its own connection so it never queues in
 * front of an issue.
 */
export function createRedis(url: string, role: RedisRole, commandTimeoutMs: number): Redis {
  return new Redis(url, {
    ...requestPathOptions(role === "issue" ? commandTimeoutMs : Math.max(commandTimeoutMs, 10_000)),
    enableAutoPipelining: role === "issue",
    connectionName: `coupons-${role}`,
  });
}
