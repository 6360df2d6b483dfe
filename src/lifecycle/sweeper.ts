import { countAccountedIssues } from "../campaigns/repository.js";
import { execMulti } from "../redis/multi.js";
import type { LifecycleDeps } from "./deps.js";
import { finishCancel } from "./cancel.js";
import { releaseCampaignKeys } from "./release.js";

export type SweeperOptions = {
  /** Time between passes, in ms. */
  intervalMs: number;
  /**
   * How long an ended or sold-out campaign keeps its Redis keys after it closed, in ms. A
   * cancelled one has no grace: nothing can be issued from it, so its pool goes as soon as
   * every owner is in MySQL.
   */
  graceMs: number;
};

type Sweep = "released" | "waiting" | "open";

/**
 * Frees the Redis memory of closed campaigns, in every instance. A campaign is closed when it is
 * cancelled, past its end instant, or sold out (its pool empty; the sweeper notes the instant it
 * first sees that in `closed_ms`). Once it has been closed for the grace period and the persister
 * has written every owner, its pool, users hash and stream are deleted by `release-keys.lua`;
 * the meta hash stays as a tombstone (~200 bytes) so IssueCoupon answers from Redis as before,
 * and reads go to MySQL, which then holds everything. A cancelled campaign's unissued codes are
 * voided first (`finishCancel`), which also completes a cancellation a crash interrupted.
 *
 * Several instances may sweep the same campaign at once: every step is idempotent and the
 * deletion re-checks its conditions atomically.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<unknown> | undefined;
  private stopped = true;

  constructor(
    private readonly deps: LifecycleDeps,
    private readonly options: SweeperOptions,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  /** Waits for the pass in progress, then stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.pass;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.pass = this.runOnce()
        .catch((err) => this.deps.logger.warn({ err }, "sweeper pass failed; will retry"))
        .finally(() => this.schedule());
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** One pass over the campaigns with live keys; returns the ids whose keys were released. */
  async runOnce(): Promise<number[]> {
    const ids = await this.deps.bulkRedis.smembers(this.deps.keys.activeCampaigns);
    const released: number[] = [];
    for (const id of ids.map(Number)) {
      if ((await this.sweep(id)) === "released") released.push(id);
    }
    return released;
  }

  private async sweep(id: number): Promise<Sweep> {
    const k = this.deps.keys.campaign(id);
    const [meta, llen, pending, time] = (await execMulti(
      this.deps.bulkRedis.multi().hmget(k.meta, "state", "end_ms", "closed_ms", "released_ms").llen(k.pool).xlen(k.stream).time(),
    )) as [Array<string | null>, number, number, [string, string]];
    const [state, endMs, closedMs, releasedMs] = meta;
    if (state === null || state === "loading") return "open";
    if (releasedMs !== null) {
      // Released already (by another instance, or by this one before a crash cut it short of the
      // removal, which follows the release: src/lifecycle/release.ts).
      await this.deps.bulkRedis.srem(this.deps.keys.activeCampaigns, String(id));
      return "released";
    }
    const nowMs = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);

    if (state === "cancelled") return (await finishCancel(this.deps, id)) ? "released" : "waiting";

    let closedAt: number | undefined;
    if (endMs !== null && nowMs >= Number(endMs)) closedAt = Number(endMs);
    if (llen === 0) {
      if (closedMs === null) await this.deps.bulkRedis.hsetnx(k.meta, "closed_ms", nowMs);
      closedAt = Math.min(closedAt ?? Infinity, closedMs === null ? nowMs : Number(closedMs));
    }
    if (closedAt === undefined) return "open";
    if (nowMs - closedAt < this.options.graceMs || pending > 0) return "waiting";

    const owners = await countAccountedIssues(this.deps.db, id);
    const outcome = await releaseCampaignKeys(this.deps, id, owners);
    if (outcome.released) {
      this.deps.logger.info({ campaignId: id, pooled: outcome.pooled }, "closed campaign's Redis keys released");
      return "released";
    }
    if (outcome.reason === "unpersisted") {
      this.deps.logger.warn({ campaignId: id, owners }, "closed campaign's owners in MySQL do not match Redis; keys kept");
    }
    return "waiting";
  }
}
