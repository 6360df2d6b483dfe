import { randomBytes } from "node:crypto";
import { Agent } from "node:http";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Redis } from "ioredis";
import mysql from "mysql2/promise";
import { loadConfig, type Config } from "../config.js";
import { createLogger } from "../logger.js";
import { CampaignState, CouponService } from "../gen/couponpb/coupon_pb.js";
import { Persister, type PersisterOptions } from "../persist/persister.js";
import { startService, type RunningService } from "../service.js";

export const TEST_MYSQL_URI = process.env.TEST_MYSQL_URI ?? "mysql://root@127.0.0.1:3306";
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export type TestService = RunningService & {
  url: string;
  config: Config;
  /** Connect client over JSON (what curl and k6 speak). */
  json: Client<typeof CouponService>;
  /** Connect client over binary protobuf (what the original Go client speaks). */
  binary: Client<typeof CouponService>;
};

/** A database name and Redis key prefix that belong to one test file alone. */
export function testNamespace(): { database: string; prefix: string } {
  const tag = `${process.pid}_${randomBytes(4).toString("hex")}`;
  return { database: `coupons_test_${tag}`, prefix: `test:${tag}:` };
}

/** A service config on a free port, in `namespace`'s database and Redis key prefix. */
export function testConfig(overrides: Partial<Record<string, string>>, namespace: { database: string; prefix: string }): Config {
  return loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DATABASE_URL: `${TEST_MYSQL_URI}/${namespace.database}`,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: namespace.prefix,
    ...overrides,
  });
}

/**
 * Starts the real service (real MariaDB, real Redis, real HTTP on a free port) in a namespace of
 * its own. Stop it with `stopTestService`, which also drops the database and the keys.
 */
export async function startTestService(
  overrides: Partial<Record<string, string>> = {},
  persisterOptions: Partial<PersisterOptions> = { maxIdleMs: 20 },
  namespace = testNamespace(),
): Promise<TestService> {
  const config = testConfig({ LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent", ...overrides }, namespace);
  const service = await startService(config, createLogger(config.LOG_LEVEL), persisterOptions);
  const url = service.url ?? "http://127.0.0.1:0";
  return {
    ...service,
    url,
    config,
    json: couponClient(url, "json"),
    binary: couponClient(url, "binary"),
  };
}

/** An official connect-es client; at most `maxSockets` connections, so bursts queue in the client. */
export function couponClient(url: string, format: "json" | "binary", maxSockets = 128): Client<typeof CouponService> {
  const agent = new Agent({ keepAlive: true, maxSockets });
  return createClient(
    CouponService,
    createConnectTransport({ baseUrl: url, httpVersion: "1.1", useBinaryFormat: format === "binary", nodeOptions: { agent } }),
  );
}

/** Creates a campaign and waits until its pool is loaded. */
export async function createLoadedCampaign(
  client: Client<typeof CouponService>,
  opts: { total: number; startInMs?: number; startMs?: number; name?: string; shards?: number },
): Promise<{ campaignId: bigint; startMs: number }> {
  const startMs = opts.startMs ?? Date.now() + (opts.startInMs ?? 0);
  const { campaignId } = await client.createCampaign({
    name: opts.name ?? "test campaign",
    startTime: timestampFromMs(startMs),
    totalCoupons: BigInt(opts.total),
    shards: opts.shards ?? 0,
  });
  await waitFor(`campaign ${campaignId} to load`, async () => {
    const c = (await client.getCampaign({ campaignId })).campaign;
    return c && c.state !== CampaignState.LOADING ? true : undefined;
  }, 300_000);
  return { campaignId, startMs };
}

/** Waits until the persister has written every issued owner of a campaign to MySQL. */
export async function waitForPersisted(client: Client<typeof CouponService>, campaignId: bigint, timeoutMs = 30_000) {
  return waitFor(
    `campaign ${campaignId} to be persisted`,
    async () => {
      const c = (await client.getCampaign({ campaignId })).campaign;
      return c && c.persisted === c.issued ? c : undefined;
    },
    timeoutMs,
  );
}

/**
 * For a service started with PERSISTER=off: runs a persister on its connections until every issued
 * owner of the campaign is in MySQL, then stops it, so the test decides when owners reach MySQL.
 */
export async function persistWithAPersister(s: TestService, campaignId: bigint): Promise<void> {
  const persister = new Persister({ db: s.deps.db, redis: s.deps.bulkRedis, keys: s.deps.keys, logger: s.deps.logger });
  persister.start();
  try {
    await waitForPersisted(s.json, campaignId);
  } finally {
    await persister.stop();
  }
}

/** Stops the service, then removes its database and every Redis key under its prefix. */
export async function stopTestService(s: TestService, opts: { keepData?: boolean } = {}): Promise<void> {
  await s.stop();
  if (opts.keepData) return;
  await dropNamespace(s.config);
}

export async function dropNamespace(config: Config): Promise<void> {
  const db = new URL(config.DATABASE_URL).pathname.slice(1);
  const conn = await mysql.createConnection({ uri: TEST_MYSQL_URI });
  await conn.query(`DROP DATABASE IF EXISTS \`${db}\``);
  await conn.end();
  if (config.REDIS_KEY_PREFIX) await deleteKeys(config.REDIS_URL, `${config.REDIS_KEY_PREFIX}*`);
}

export async function deleteKeys(redisUrl: string, pattern: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/** Polls `check` until it returns a value that is not undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
  everyMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
