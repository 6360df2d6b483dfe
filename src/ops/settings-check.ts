import { Cluster, type Redis } from "ioredis";
import type { MysqlPool } from "../db/client.js";
import type { RedisClient } from "../redis/client.js";

/**
 * The start-up check of settings the service's promise (no code twice, no owner lost) rests on
 * but cannot enforce itself: Redis's durability and eviction, and MySQL's connection limit.
 * docs/operations-redis.md explains each setting and its fix.
 */

/**
 * `safe`: AOF on, fsynced before every reply, nothing evicted. `warning`: a machine crash can
 * lose the last second of issues. `unsafe`: a restart or memory pressure loses or re-issues
 * codes. `unknown`: Redis refused CONFIG GET (managed services often do).
 */
export type RedisSafety = "safe" | "warning" | "unsafe" | "unknown";

/** What /readyz shows under `settings`. */
export type SettingsReport = {
  redis: RedisSafety;
  /** `warning` when WORKERS × the MySQL pool per worker exceeds MySQL's max_connections. */
  mysqlConnections: "ok" | "warning" | "unknown";
  /** One sentence per finding, naming the setting and its fix; empty when all is well. */
  findings: string[];
};

/** The three settings of one Redis server, as CONFIG GET answers them. */
export type RedisSettings = { appendonly: string; appendfsync: string; maxmemoryPolicy: string };

type Judgement<V> = { verdict: V; findings: string[] };

const RANK: Record<RedisSafety, number> = { safe: 0, warning: 1, unknown: 2, unsafe: 3 };
const worst = (a: RedisSafety, b: RedisSafety): RedisSafety => (RANK[a] >= RANK[b] ? a : b);

/** Judges one server's settings; `node` names it in the findings (`host:port`). */
export function judgeRedisSettings(node: string, s: RedisSettings): Judgement<RedisSafety> {
  const findings: string[] = [];
  let verdict: RedisSafety = "safe";
  if (s.appendonly !== "yes") {
    verdict = "unsafe";
    findings.push(
      `Redis ${node} runs with appendonly ${s.appendonly}: after a restart it comes back from an old snapshot or empty, and codes issued since go back into the pool to be issued again. Fix: appendonly yes and appendfsync always (redis.conf, or CONFIG SET then CONFIG REWRITE).`,
    );
  } else if (s.appendfsync === "everysec") {
    verdict = "warning";
    findings.push(
      `Redis ${node} runs with appendfsync everysec: a crash can lose the last second of issues (its machine's crash; now and then the Redis process's alone), codes already handed out. Fix: appendfsync always.`,
    );
  } else if (s.appendfsync !== "always") {
    verdict = "unsafe";
    findings.push(
      `Redis ${node} runs with appendfsync ${s.appendfsync}: it never fsyncs the AOF, so a crash of its machine loses whatever the kernel had not yet written (about 30 s on Linux). Fix: appendfsync always.`,
    );
  }
  if (s.maxmemoryPolicy !== "noeviction") {
    verdict = "unsafe";
    findings.push(
      `Redis ${node} runs with maxmemory-policy ${s.maxmemoryPolicy}: under memory pressure it evicts keys, so pools, owners and streams vanish without a trace. Fix: maxmemory-policy noeviction (a full Redis then refuses writes and IssueCoupon answers unavailable).`,
    );
  }
  return { verdict, findings };
}

function nodeName(r: Redis): string {
  return `${r.options.host ?? "127.0.0.1"}:${r.options.port ?? 6379}`;
}

async function configGet(r: Redis, name: string): Promise<string> {
  // One parameter per CONFIG GET: servers before 7.0 take only one.
  const reply = (await r.call("CONFIG", "GET", name)) as string[];
  const at = reply.indexOf(name);
  if (at < 0) throw new Error(`CONFIG GET ${name} answered nothing`);
  return reply[at + 1]!;
}

/** Reads and judges the settings of the Redis server, or of every master of a Redis Cluster. */
export async function checkRedisSafety(redis: RedisClient): Promise<Judgement<RedisSafety>> {
  const nodes = redis instanceof Cluster ? redis.nodes("master") : [redis];
  const judged = await Promise.all(
    nodes.map(async (r): Promise<Judgement<RedisSafety>> => {
      const node = nodeName(r);
      try {
        const [appendonly, appendfsync, maxmemoryPolicy] = await Promise.all(
          ["appendonly", "appendfsync", "maxmemory-policy"].map((name) => configGet(r, name)),
        );
        return judgeRedisSettings(node, { appendonly: appendonly!, appendfsync: appendfsync!, maxmemoryPolicy: maxmemoryPolicy! });
      } catch (err) {
        return {
          verdict: "unknown",
          findings: [
            `Cannot read the settings of Redis ${node} (${(err as Error).message}): make sure it runs with appendonly yes, appendfsync always and maxmemory-policy noeviction.`,
          ],
        };
      }
    }),
  );
  return {
    verdict: judged.reduce<RedisSafety>((v, j) => worst(v, j.verdict), "safe"),
    findings: judged.flatMap((j) => j.findings),
  };
}

/** Connections one process's MySQL pool may open (src/db/client.ts createPool). */
export function poolSizeOf(pool: MysqlPool): number {
  return pool.pool.config.connectionLimit ?? 10;
}

/** Warns when `workers` processes, each with a full pool, would need more than MySQL allows. */
export async function checkMysqlConnections(pool: MysqlPool, workers: number): Promise<Judgement<SettingsReport["mysqlConnections"]>> {
  const perWorker = poolSizeOf(pool);
  const needed = workers * perWorker;
  let max: number;
  try {
    const [rows] = await pool.query("SELECT @@max_connections AS max");
    max = Number((rows as Array<{ max: number | string }>)[0]!.max);
  } catch (err) {
    return { verdict: "unknown", findings: [`Cannot read MySQL's max_connections (${(err as Error).message}).`] };
  }
  if (needed <= max) return { verdict: "ok", findings: [] };
  return {
    verdict: "warning",
    findings: [
      `WORKERS=${workers} × ${perWorker} MySQL connections per worker = ${needed}, more than MySQL's max_connections=${max}: under load workers fail with "Too many connections". Fix: raise max_connections to at least ${needed} (plus the other instances and clients) or lower WORKERS.`,
    ],
  };
}

/** Both checks; never throws (a check that cannot run says `unknown`). */
export async function checkSettings(deps: { bulkRedis: RedisClient; mysqlPool: MysqlPool }, workers: number): Promise<{
  report: SettingsReport;
  /** The Redis findings alone: what a refusal under REQUIRE_DURABLE_REDIS lists. */
  redisFindings: string[];
}> {
  const [redis, mysql] = await Promise.all([checkRedisSafety(deps.bulkRedis), checkMysqlConnections(deps.mysqlPool, workers)]);
  return {
    report: { redis: redis.verdict, mysqlConnections: mysql.verdict, findings: [...redis.findings, ...mysql.findings] },
    redisFindings: redis.findings,
  };
}

/** The start-up refusal's message when REQUIRE_DURABLE_REDIS=true and Redis is unsafe. */
export function refusalMessage(redisFindings: readonly string[]): string {
  return [
    "Refusing to start: REQUIRE_DURABLE_REDIS=true and Redis is not safe for coupons.",
    ...redisFindings.map((f) => `  - ${f}`),
    "See docs/operations-redis.md. REQUIRE_DURABLE_REDIS=false starts anyway, with a warning (development only).",
  ].join("\n");
}
