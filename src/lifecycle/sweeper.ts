import { countAccountedIssues, countAccountedIssuesBySubPool } from "../campaigns/repository.js";
import { parseSubPoolMember, subPoolMember } from "../redis/keys.js";
import { execMulti } from "../redis/multi.js";
import type { LifecycleDeps } from "./deps.js";
import { finishCancel } from "./cancel.js";
import { releaseCampaignKeys, releaseSubPools } from "./release.js";

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
 *
 * A campaign split into K sub-pools is swept as one unit (`sweepSubPools`): the watch list names
 * its sub-pools ("42", "42.1", …), and they are grouped back into their campaign. Its keys go only
 * once the whole campaign is closed and every sub-pool's owners are in MySQL, never one sub-pool
 * while another still issues: a holder's walk passes the sub-pools before the one holding their
 * code, and that one's users hash is what makes the walk stop there; with it gone, and a code
 * left further on, the holder would be issued a second code.
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
    const members = await this.deps.bulkRedis.smembers(this.deps.keys.activeCampaigns);
    // One entry per campaign, whichever of its sub-pools are still listed.
    const ids = new Set(members.map((m) => parseSubPoolMember(m).campaignId));
    const released: number[] = [];
    for (const id of ids) {
      if ((await this.sweep(id)) === "released") released.push(id);
    }
    return released;
  }

  private async sweep(id: number): Promise<Sweep> {
    const k = this.deps.keys.campaign(id);
    const [meta, llen, pending, time] = (await execMulti(
      this.deps.bulkRedis
        .multi()
        .hmget(k.meta, "state", "end_ms", "closed_ms", "released_ms", "shards")
        .llen(k.pool)
        .xlen(k.stream)
        .time(),
    )) as [Array<string | null>, number, number, [string, string]];
    const [state, endMs, closedMs, releasedMs, shards] = meta;
    if (state === null || state === "loading") return "open";
    // Sub-pool 0's meta says K (it stays as the tombstone once released): the campaign is one unit.
    if (shards !== null && Number(shards) > 1) return this.sweepSubPools(id, Number(shards));
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

  /**
   * `sweep` for a campaign of K sub-pools, all read (one MULTI each: different hash slots) before
   * anything is decided. The campaign is closed when it is cancelled, past its end instant (the
   * same on every sub-pool), or sold out: every sub-pool empty. Each sub-pool notes when it was
   * first seen empty (`closed_ms`), so the campaign sold out when the last of them emptied, and
   * its grace runs from there. A sub-pool that is lost or loading (a rebuild) keeps the whole
   * campaign: its count and owners are not known.
   */
  private async sweepSubPools(id: number, shards: number): Promise<Sweep> {
    const pools = this.deps.keys.subPools(id, shards);
    const reads = await Promise.all(
      pools.map(async (k) => {
        const [meta, llen, pending, time] = (await execMulti(
          this.deps.bulkRedis.multi().hmget(k.meta, "state", "end_ms", "closed_ms", "released_ms", "issued").llen(k.pool).xlen(k.stream).time(),
        )) as [Array<string | null>, number, number, [string, string]];
        const [state, endMs, closedMs, releasedMs, issued] = meta;
        const nowMs = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
        return { k, state, endMs, closedMs, released: releasedMs !== null, issued: Number(issued ?? 0), llen, pending, nowMs };
      }),
    );
    if (reads.some((r) => r.state !== "ready" && r.state !== "paused" && r.state !== "cancelled")) return "open";
    if (reads.every((r) => r.released)) {
      // Released already, every sub-pool: only the watch list may still name some of them.
      await this.deps.bulkRedis.srem(this.deps.keys.activeCampaigns, ...pools.map((_, sub) => subPoolMember(id, sub)));
      return "released";
    }
    const nowMs = reads[0]!.nowMs;

    // A cancellation on any sub-pool is the campaign's (finishCancel completes one cut short).
    if (reads.some((r) => r.state === "cancelled")) return (await finishCancel(this.deps, id, shards)) ? "released" : "waiting";

    const endMs = reads[0]!.endMs;
    let closedAt: number | undefined;
    if (endMs !== null && nowMs >= Number(endMs)) closedAt = Number(endMs);
    let emptiedAt = -Infinity;
    for (const r of reads) {
      if (r.llen > 0) {
        emptiedAt = Infinity;
        continue;
      }
      if (r.closedMs === null) await this.deps.bulkRedis.hsetnx(r.k.meta, "closed_ms", nowMs);
      emptiedAt = Math.max(emptiedAt, r.closedMs === null ? nowMs : Number(r.closedMs));
    }
    if (emptiedAt !== Infinity) closedAt = Math.min(closedAt ?? Infinity, emptiedAt);
    if (closedAt === undefined) return "open";
    if (nowMs - closedAt < this.options.graceMs || reads.some((r) => r.pending > 0)) return "waiting";

    const owners = await countAccountedIssuesBySubPool(this.deps.db, id, shards);
    // Every sub-pool's books whole before the first is released: a read of the campaign then
    // finds all of it in MySQL, whichever sub-pools are released already.
    const unmatched = reads.findIndex((r, sub) => owners[sub] !== r.issued);
    if (unmatched >= 0) {
      this.deps.logger.warn(
        { campaignId: id, subPool: unmatched, issued: reads[unmatched]!.issued, owners: owners[unmatched] },
        "closed campaign's owners in MySQL do not match Redis; keys kept",
      );
      return "waiting";
    }
    const outcome = await releaseSubPools(this.deps, id, owners);
    if (outcome.released) {
      this.deps.logger.info({ campaignId: id, shards, pooled: outcome.pooled }, "closed campaign's Redis keys released");
      return "released";
    }
    if (outcome.reason === "unpersisted") this.deps.logger.warn({ campaignId: id, owners }, "closed campaign's owners in MySQL do not match Redis; keys kept");
    return "waiting";
  }
}
