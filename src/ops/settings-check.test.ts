import { readFileSync } from "node:fs";
import { Writable } from "node:stream";
import { Cluster, Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadConfig } from "../config.js";
import { StartupError } from "../deps.js";
import { createPool, parseDatabaseUrl } from "../db/client.js";
import { startService, type RunningService } from "../service.js";
import { dropNamespace, TEST_MYSQL_URI, testConfig, testNamespace } from "../testing/harness.js";
import { startRedisCluster } from "../testing/redis-cluster.js";
import { RedisServer, type RedisServerOptions } from "../testing/redis-server.js";
import { checkMysqlConnections, checkRedisSafety, judgeRedisSettings } from "./settings-check.js";

/** Private servers, one per setting under test; none touches the shared :6379. */
const servers: Record<string, RedisServer> = {};
const clients: Redis[] = [];
const setups: Record<string, RedisServerOptions> = {
  aofOff: { appendonly: false },
  everysec: { appendonly: true, appendfsync: "everysec" },
  evicting: { appendonly: true, appendfsync: "always", args: ["--maxmemory-policy", "allkeys-lru"] },
  safe: { appendonly: true, appendfsync: "always", args: ["--maxmemory-policy", "noeviction"] },
  noConfig: { appendonly: true, appendfsync: "always" },
};
beforeAll(async () => {
  await Promise.all(Object.entries(setups).map(async ([name, o]) => (servers[name] = await RedisServer.start(o))));
  // A Redis that refuses CONFIG, as managed services often do.
  const admin = client("noConfig");
  await admin.call("ACL", "SETUSER", "default", "-config");
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await Promise.all(Object.values(servers).map((s) => s.stop()));
});

function client(name: string): Redis {
  const c = new Redis(servers[name]!.url, { maxRetriesPerRequest: 1 });
  clients.push(c);
  return c;
}
const node = (name: string) => `127.0.0.1:${servers[name]!.port}`;

describe("the Redis settings check", () => {
  it("calls AOF off unsafe, naming the setting and the fix", async () => {
    expect(await checkRedisSafety(client("aofOff"))).toEqual({
      verdict: "unsafe",
      findings: [
        `Redis ${node("aofOff")} runs with appendonly no: after a restart it comes back from an old snapshot or empty, and codes issued since go back into the pool to be issued again. Fix: appendonly yes and appendfsync always (redis.conf, or CONFIG SET then CONFIG REWRITE).`,
      ],
    });
  });

  it("warns about appendfsync everysec: the last second of issues can be lost", async () => {
    const r = await checkRedisSafety(client("everysec"));
    expect(r.verdict).toBe("warning");
    expect(r.findings).toEqual([expect.stringMatching(/^Redis .+ runs with appendfsync everysec: .*last second of issues.* Fix: appendfsync always\.$/)]);
  });

  it("calls an evicting maxmemory-policy unsafe", async () => {
    const r = await checkRedisSafety(client("evicting"));
    expect(r.verdict).toBe("unsafe");
    expect(r.findings).toEqual([expect.stringMatching(/^Redis .+ runs with maxmemory-policy allkeys-lru: .* Fix: maxmemory-policy noeviction/)]);
  });

  it("calls AOF with appendfsync always and noeviction safe", async () => {
    expect(await checkRedisSafety(client("safe"))).toEqual({ verdict: "safe", findings: [] });
  });

  it("says unknown, with a warning, when Redis refuses CONFIG", async () => {
    const r = await checkRedisSafety(client("noConfig"));
    expect(r.verdict).toBe("unknown");
    expect(r.findings).toEqual([
      expect.stringMatching(/^Cannot read the settings of Redis .+ \(NOPERM.*\): make sure it runs with appendonly yes, appendfsync always and maxmemory-policy noeviction\.$/),
    ]);
  });

  it("asks every master of a Redis Cluster", async () => {
    const cluster = await startRedisCluster(3);
    const redis = new Cluster(cluster.nodes.map((n) => ({ host: n.split(":")[0]!, port: Number(n.split(":")[1]) })));
    try {
      await new Promise<void>((resolve) => redis.once("ready", () => resolve()));
      const r = await checkRedisSafety(redis);
      expect(r.verdict).toBe("unsafe");
      // One finding per master (the test cluster runs without AOF), each naming its node.
      expect(r.findings.map((f) => /^Redis (\S+) runs with appendonly no/.exec(f)?.[1]).sort()).toEqual([...cluster.nodes].sort());
    } finally {
      redis.disconnect();
      await cluster.stop();
    }
  });
});

describe("the MySQL connections check", () => {
  it("warns when WORKERS × the pool per worker exceeds max_connections, and not otherwise", async () => {
    const pool = createPool(parseDatabaseUrl(`${TEST_MYSQL_URI}/mysql`));
    try {
      const [rows] = await pool.query("SELECT @@max_connections AS max");
      const max = Number((rows as Array<{ max: number }>)[0]!.max);
      const over = Math.floor(max / 10) + 1;
      expect(await checkMysqlConnections(pool, over)).toEqual({
        verdict: "warning",
        findings: [
          `WORKERS=${over} × 10 MySQL connections per worker = ${over * 10}, more than MySQL's max_connections=${max}: under load workers fail with "Too many connections". Fix: raise max_connections to at least ${over * 10} (plus the other instances and clients) or lower WORKERS.`,
        ],
      });
      expect(await checkMysqlConnections(pool, Math.floor(max / 10))).toEqual({ verdict: "ok", findings: [] });
    } finally {
      await pool.end();
    }
  });
});

describe("at start", () => {
  type LogLine = { level: number; msg: string; settings?: unknown };
  /** The settings check's own log lines (the admin-key warning and others are not its business). */
  const settingsWarnings = (logs: LogLine[]) => logs.filter((l) => l.settings !== undefined && l.level === 40).map((l) => l.msg);
  /** A service on the private Redis `name`, its log lines collected. */
  async function start(name: string, env: Record<string, string>) {
    const ns = testNamespace();
    const config = testConfig({ REDIS_URL: servers[name]!.url, ...env }, ns);
    const logs: LogLine[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split("\n").filter(Boolean)) logs.push(JSON.parse(line) as LogLine);
        done();
      },
    });
    const cleanup = () => dropNamespace(testConfig({}, ns));
    return { config, logs, cleanup, run: () => startService(config, pino({ level: "warn" }, sink)) };
  }
  async function readyz(s: RunningService) {
    const res = await fetch(`${s.url}/readyz`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it("in development starts on an unsafe Redis, warns, and /readyz shows the findings", async () => {
    // WORKERS=64 (not forked here: startService is one process) also trips the MySQL check.
    const t = await start("aofOff", { WORKERS: "64" });
    const s = await t.run();
    try {
      const r = await readyz(s);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({
        status: "ready",
        checks: { mysql: "ok", migrations: "ok", redis: "ok" },
        deployment: expect.stringMatching(/^[0-9a-f]{32}$/),
        settings: {
          redis: "unsafe",
          mysqlConnections: "warning",
          findings: [expect.stringMatching(/runs with appendonly no/), expect.stringMatching(/^WORKERS=64 × 10 MySQL connections/)],
        },
      });
      expect(settingsWarnings(t.logs)).toEqual([expect.stringMatching(/runs with appendonly no/), expect.stringMatching(/^WORKERS=64 × 10/)]);
    } finally {
      await s.stop();
      await t.cleanup();
    }
  });

  it("under REQUIRE_DURABLE_REDIS=true refuses an unsafe Redis with a message naming the setting and the fix", async () => {
    const t = await start("evicting", { REQUIRE_DURABLE_REDIS: "true" });
    try {
      const err = await t.run().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StartupError);
      expect((err as Error).message).toBe(
        [
          "Refusing to start: REQUIRE_DURABLE_REDIS=true and Redis is not safe for coupons.",
          `  - Redis ${node("evicting")} runs with maxmemory-policy allkeys-lru: under memory pressure it evicts keys, so pools, owners and streams vanish without a trace. Fix: maxmemory-policy noeviction (a full Redis then refuses writes and IssueCoupon answers unavailable).`,
          "See docs/operations-redis.md. REQUIRE_DURABLE_REDIS=false starts anyway, with a warning (development only).",
        ].join("\n"),
      );
    } finally {
      await t.cleanup();
    }
  });

  it("under REQUIRE_DURABLE_REDIS=true starts on everysec with a warning, and on a safe Redis with none", async () => {
    const warned = await start("everysec", { REQUIRE_DURABLE_REDIS: "true" });
    const safe = await start("safe", { REQUIRE_DURABLE_REDIS: "true" });
    const [a, b] = await Promise.all([warned.run(), safe.run()]);
    try {
      expect((await readyz(a)).body.settings).toEqual({ redis: "warning", mysqlConnections: "ok", findings: [expect.stringMatching(/appendfsync everysec/)] });
      expect(settingsWarnings(warned.logs)).toEqual([expect.stringMatching(/appendfsync everysec/)]);
      expect((await readyz(b)).body.settings).toEqual({ redis: "safe", mysqlConnections: "ok", findings: [] });
      expect(settingsWarnings(safe.logs)).toEqual([]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await Promise.all([warned.cleanup(), safe.cleanup()]);
    }
  });
});

describe("docker/compose.yaml", () => {
  it("requires durable Redis, and runs a Redis the check calls safe", () => {
    type Service = { command?: string[]; environment?: Record<string, string> };
    const compose = parse(readFileSync(new URL("../../docker/compose.yaml", import.meta.url), "utf8")) as { services: Record<string, Service> };
    const args = compose.services.redis!.command!;
    const flag = (name: string) => args[args.indexOf(`--${name}`) + 1]!;
    expect(judgeRedisSettings("redis:6379", { appendonly: flag("appendonly"), appendfsync: flag("appendfsync"), maxmemoryPolicy: flag("maxmemory-policy") })).toEqual({
      verdict: "safe",
      findings: [],
    });
    // `${NAME:-default}` as compose substitutes it with NAME unset.
    const env = Object.fromEntries(
      Object.entries(compose.services.coupons!.environment!).map(([k, v]) => [k, v.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, "$1")]),
    );
    expect(loadConfig(env).REQUIRE_DURABLE_REDIS).toBe(true);
  });
});
