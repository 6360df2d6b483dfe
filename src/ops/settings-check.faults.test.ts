import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { recordFault } from "../testing/fault-report.js";
import { dropNamespace, TEST_MYSQL_URI, testConfig, testNamespace } from "../testing/harness.js";
import { RedisServer, type RedisServerOptions } from "../testing/redis-server.js";

/**
 * Fault: production pointed at a Redis that cannot keep the service's promise — a default
 * redis-server (no AOF: a restart comes back from an old snapshot or empty and re-issues codes)
 * or one that evicts under memory pressure. With REQUIRE_DURABLE_REDIS=true (docker/compose.yaml
 * sets it) the real entry point must refuse to start, saying which setting and how to fix it,
 * before any worker serves a call.
 */
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ns = testNamespace();
afterAll(async () => {
  await dropNamespace(testConfig({}, ns));
});

/** Runs src/main.ts to its exit on the given Redis; resolves with its exit code and output. */
function runService(redisUrl: string, workers: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      DATABASE_URL: `${TEST_MYSQL_URI}/${ns.database}`,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: ns.prefix,
      LOG_LEVEL: "warn",
      WORKERS: workers,
      REQUIRE_DURABLE_REDIS: "true",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code, output })));
}

const cases: Array<{ fault: string; redis: RedisServerOptions; workers: string; setting: RegExp }> = [
  {
    fault: "Redis without AOF (a default redis-server), REQUIRE_DURABLE_REDIS=true, WORKERS=2",
    redis: { appendonly: false },
    workers: "2",
    setting: /runs with appendonly no: .* Fix: appendonly yes and appendfsync always/,
  },
  {
    fault: "Redis with maxmemory-policy allkeys-lru, REQUIRE_DURABLE_REDIS=true",
    redis: { appendonly: true, appendfsync: "always", args: ["--maxmemory-policy", "allkeys-lru"] },
    workers: "1",
    setting: /runs with maxmemory-policy allkeys-lru: .* Fix: maxmemory-policy noeviction/,
  },
];

describe("an unsafe Redis under REQUIRE_DURABLE_REDIS=true", () => {
  for (const c of cases) {
    it(`refuses to start: ${c.fault}`, async () => {
      const redis = await RedisServer.start(c.redis);
      try {
        const { code, output } = await runService(redis.url, c.workers);
        expect(code, output).toBe(1);
        expect(output).toContain("Refusing to start: REQUIRE_DURABLE_REDIS=true and Redis is not safe for coupons.");
        expect(output).toMatch(c.setting);
        expect(output).not.toContain("coupon service started");
        recordFault({
          fault: c.fault,
          behaviour: "refuses to start: exits 1 naming the setting and its fix (docs/operations-redis.md); no worker serves, no code is issued",
          calls: 0,
          issued: 0,
          duplicates: 0,
          lostOwners: 0,
        });
      } finally {
        await redis.stop();
      }
    });
  }
});
