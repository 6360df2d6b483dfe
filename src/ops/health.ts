import { readMigrationFiles } from "drizzle-orm/migrator";
import type { MysqlPool } from "../db/client.js";
import { MIGRATIONS_FOLDER } from "../db/migrate.js";
import type { SettingsReport } from "./settings-check.js";

export type ReadinessDeps = {
  mysqlPool: MysqlPool;
  /** Every Redis connection a request may use (ioredis's and the issue script's own); all must answer. */
  redis: ReadonlyArray<{ ping(): Promise<unknown> }>;
  /** What the start-up check found about Redis's durability and MySQL's connection limit. */
  settings?: SettingsReport;
  /**
   * This deployment's id and a check that the Redis namespace still names it (deployment-identity.ts):
   * resolves to a problem sentence when another deployment has taken the namespace.
   */
  deployment?: { id: string; check: () => Promise<string | undefined> };
};

export type ReadinessReport = {
  ready: boolean;
  /** One plain sentence per failed check; empty when ready. */
  problems: string[];
  checks: { mysql: "ok" | "failed"; migrations: "ok" | "failed" | "unknown"; redis: "ok" | "failed" };
  /**
   * The start-up settings check (src/ops/settings-check.ts), shown but not failing readiness: an
   * instance that was allowed to start with them is as ready as it will get.
   */
  settings?: SettingsReport;
  /** This deployment's id (code_allocator.deployment_id), the one its Redis namespace must name. */
  deployment?: string;
};

/** A probe that takes longer than this counts as failed, in ms: a readiness probe must answer fast. */
const PROBE_TIMEOUT_MS = 2000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function reason(err: unknown): string {
  const e = err as { message?: string; code?: string };
  return e.message || e.code || String(err);
}

/**
 * What `GET /readyz` answers: MySQL reachable, every migration of this build applied, Redis
 * reachable, and the instance not shutting down. `GET /healthz` stays a bare liveness answer.
 */
export class Readiness {
  private stopping = false;
  /** `created_at` drizzle records for the newest migration this build ships. */
  private readonly newestMigrationMs: number;

  constructor(private readonly deps: ReadinessDeps) {
    const migrations = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER });
    this.newestMigrationMs = Math.max(0, ...migrations.map((m) => m.folderMillis));
  }

  /** From now on the instance reports itself not ready, so load balancers stop sending to it. */
  markStopping(): void {
    this.stopping = true;
  }

  async check(): Promise<ReadinessReport> {
    const problems: string[] = [];
    if (this.stopping) problems.push("the service is shutting down.");
    const checks: ReadinessReport["checks"] = { mysql: "ok", migrations: "ok", redis: "ok" };

    const mysqlCheck = withTimeout(
      this.deps.mysqlPool.query("SELECT MAX(created_at) AS newest FROM __drizzle_migrations"),
      PROBE_TIMEOUT_MS,
      "MySQL",
    ).then(
      ([rows]) => {
        const newest = Number((rows as Array<{ newest: string | number | null }>)[0]?.newest ?? 0);
        if (newest < this.newestMigrationMs) {
          checks.migrations = "failed";
          problems.push("MySQL is missing migrations of this build; restart an instance to apply them.");
        }
      },
      (err: unknown) => {
        checks.mysql = "failed";
        checks.migrations = "unknown";
        problems.push(`MySQL is unreachable: ${reason(err)}.`);
      },
    );
    const redisCheck = withTimeout(
      Promise.all(this.deps.redis.map((r) => r.ping())),
      PROBE_TIMEOUT_MS,
      "Redis",
    ).then(
      () => undefined,
      (err: unknown) => {
        checks.redis = "failed";
        problems.push(`Redis is unreachable: ${reason(err)}.`);
      },
    );
    const deployment = this.deps.deployment;
    const deploymentCheck = deployment
      ? withTimeout(deployment.check(), PROBE_TIMEOUT_MS, "Redis").then(
          (problem) => {
            if (problem) problems.push(problem);
          },
          () => undefined, // Redis itself failed: the redis check says so
        )
      : undefined;
    await Promise.all([mysqlCheck, redisCheck, deploymentCheck]);
    return { ready: problems.length === 0, problems, checks, settings: this.deps.settings, deployment: deployment?.id };
  }
}
