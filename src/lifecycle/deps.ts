import type { RedisClient } from "../redis/client.js";
import type { Logger } from "pino";
import type { Db } from "../db/client.js";
import type { RedisKeys } from "../redis/keys.js";
import type { ScriptedRedis } from "../redis/scripts.js";

/** What the lifecycle operations use: a subset of `Deps`, so tests and the sweeper can build it. */
export type LifecycleDeps = {
  db: Db;
  /** Runs the lifecycle scripts. */
  redis: ScriptedRedis;
  /** Multi-key reads (MULTI of HMGET, LLEN, XRANGE …). */
  bulkRedis: RedisClient;
  keys: RedisKeys;
  logger: Logger;
};
