import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestService, stopTestService, waitFor, type TestService } from "../testing/harness.js";

/** A free TCP port on 127.0.0.1 (the OS picks it; we close the probe socket at once). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * A redis-server of a test's own, on its own port and temp dir, that the test may stop and start
 * again: never the shared :6379 one.
 */
class OwnRedis {
  private proc: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), "coupons-redis-"));

  private constructor(readonly port: number) {}

  static async start(): Promise<OwnRedis> {
    const r = new OwnRedis(await freePort());
    await r.resume();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server (again) on the same port and waits until it answers PING. */
  async resume(): Promise<void> {
    this.proc = spawn(
      "redis-server",
      ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", this.dir],
      { stdio: "ignore" },
    );
    await waitFor(`redis-server on port ${this.port}`, async () => {
      const c = new Redis(this.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      c.on("error", () => undefined);
      try {
        await c.connect();
        return (await c.ping()) === "PONG" ? true : undefined;
      } finally {
        c.disconnect();
      }
    });
  }

  /** Stops the server and waits for the process to exit. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGTERM");
    await exited;
    this.proc = undefined;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let redis: OwnRedis;
let s: TestService;
beforeAll(async () => {
  redis = await OwnRedis.start();
  s = await startTestService({ REDIS_URL: redis.url });
});
afterAll(async () => {
  if (s) await stopTestService(s);
  await redis?.destroy();
});

type ReadyzBody = { status: string; reason?: string; checks: Record<string, string>; settings?: unknown };

async function readyz(): Promise<{ status: number; body: ReadyzBody }> {
  const res = await fetch(`${s.url}/readyz`);
  return { status: res.status, body: (await res.json()) as ReadyzBody };
}

describe("/healthz and /readyz", () => {
  it("answers ready while MySQL and Redis answer and every migration is applied", async () => {
    expect(await readyz()).toEqual({
      status: 200,
      body: {
        status: "ready",
        checks: { mysql: "ok", migrations: "ok", redis: "ok" },
        deployment: expect.stringMatching(/^[0-9a-f]{32}$/),
        // This test's own Redis runs without AOF: shown, not failing readiness (src/ops/settings-check.ts).
        settings: { redis: "unsafe", mysqlConnections: "ok", findings: [expect.stringMatching(/runs with appendonly no/)] },
      },
    });
    const health = await fetch(`${s.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
  });

  it("answers 503 with the reason while Redis is down, stays alive, and is ready again once Redis is back", async () => {
    await redis.stop();
    const down = await waitFor("/readyz to report Redis down", async () => {
      const r = await readyz();
      return r.status === 503 ? r : undefined;
    });
    expect(down.body.status).toBe("not ready");
    expect(down.body.checks).toEqual({ mysql: "ok", migrations: "ok", redis: "failed" });
    expect(down.body.reason).toMatch(/^Redis is unreachable: .+\.$/);
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);

    await redis.resume();
    const up = await waitFor("/readyz to report ready again", async () => {
      const r = await readyz();
      return r.status === 200 ? r : undefined;
    }, 30_000);
    expect(up.body.status).toBe("ready");
  });

  it("answers 503 when the database lacks a migration of this build", async () => {
    await s.deps.mysqlPool.query("UPDATE __drizzle_migrations SET created_at = created_at - 1 WHERE created_at = (SELECT m FROM (SELECT MAX(created_at) AS m FROM __drizzle_migrations) t)");
    try {
      const r = await readyz();
      expect(r.status).toBe(503);
      expect(r.body.checks.migrations).toBe("failed");
      expect(r.body.reason).toBe("MySQL is missing migrations of this build; restart an instance to apply them.");
    } finally {
      await s.deps.mysqlPool.query("UPDATE __drizzle_migrations SET created_at = created_at + 1 WHERE created_at = (SELECT m FROM (SELECT MAX(created_at) AS m FROM __drizzle_migrations) t)");
    }
  });
});
