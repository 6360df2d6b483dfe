import { findCampaign } from "../campaigns/repository.js";
import { redisConnections, type Deps } from "../deps.js";
import { Persister, type PassResult, type PersisterDeps, type PersisterOptions } from "../persist/persister.js";
import type { AlarmKind } from "../persist/write-issues.js";
import type { Dependency, Metrics } from "./metrics.js";

/** Which dependency an error came from: mysql2 errors carry SQL state, `fatal` or an ER_/PROTOCOL_ code. */
export function dependencyOf(err: unknown): Dependency {
  for (let e = err as Record<string, unknown> | undefined; e; e = e.cause as Record<string, unknown> | undefined) {
    if (e.sqlState !== undefined || typeof e.fatal === "boolean") return "mysql";
    if (typeof e.code === "string" && /^(ER_|PROTOCOL_)/.test(e.code)) return "mysql";
    if (e.name === "DrizzleQueryError") return "mysql";
  }
  return "redis";
}

/** Counts connection-level errors of every Redis connection and pooled MySQL connection. */
export function countConnectionErrors(deps: Deps, metrics: Metrics): void {
  for (const r of redisConnections(deps)) r.on("error", () => metrics.dependencyError("redis", "connection"));
  deps.mysqlPool.on("connection", (conn) => conn.on("error", () => metrics.dependencyError("mysql", "connection")));
}

/**
 * Times each pool load from the moment CreateCampaign hands it over until the pool is complete
 * (the loader has no hook of its own, so its `start` is wrapped; a failed load is not timed).
 */
export function timePoolLoads(deps: Deps, metrics: Metrics): void {
  const start = deps.loader.start.bind(deps.loader);
  deps.loader.start = (campaign, lease) => {
    const startedMs = performance.now();
    return start(campaign, lease).then(async () => {
      const row = await findCampaign(deps.db, campaign.id).catch(() => undefined);
      if (row?.status !== "ready") return;
      const seconds = (performance.now() - startedMs) / 1000;
      metrics.campaignLoadSeconds.observe(seconds);
      metrics.campaignLoadRate.set(campaign.totalCoupons / seconds);
    });
  };
}

/** The persister, with its passes counted: entries written per pass, and failures by dependency. */
export class MeteredPersister extends Persister {
  /** True while the latest pass failed (MySQL or Redis down): shutdown then stops waiting for it. */
  failing = false;

  constructor(
    deps: PersisterDeps,
    options: Partial<PersisterOptions>,
    private readonly metrics: Metrics,
  ) {
    super(deps, options);
  }

  protected override campaignSkipped(_id: string, err: unknown): void {
    this.metrics.persisterSkips.labels(dependencyOf(err)).inc();
  }

  protected override integrityAlarmsRecorded(kind: AlarmKind, count: number): void {
    this.metrics.integrityAlarms.labels(kind).inc(count);
  }

  protected override async pass(): Promise<PassResult> {
    try {
      const result = await super.pass();
      if (result.written > 0) this.metrics.persisterPassEntries.observe(result.written);
      this.failing = false;
      return result;
    } catch (err) {
      this.failing = true;
      this.metrics.dependencyError(dependencyOf(err), "persister");
      throw err;
    }
  }
}
