import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { Db } from "../db/client.js";
import type { RedisClient } from "../redis/client.js";
import { parseSubPoolMember, type RedisKeys } from "../redis/keys.js";
import type { ScriptedRedis } from "../redis/scripts.js";
import { allowanceForLocal } from "./sub-pools.js";

/**
 * The issue budget bounds what a total loss of Redis can cost. The issue script never hands out
 * a code past `allow` (a pool position); the budget is raised in MySQL first and only then in
 * Redis. After Redis loses a campaign, MySQL therefore knows every code that may have been
 * issued — those up to `issue_allowance` — and a rebuild quarantines the ones without a
 * recorded owner and reloads only the rest (src/campaigns/rebuild.ts). Without the bound the
 * only safe rebuild would quarantine every code not yet in MySQL. A campaign split into K > 1
 * sub-pools has one budget per sub-pool, a local position (`recordSubPoolBudgets`): sub-pools
 * issue at their own pace, and one budget for all would be set by the busiest.
 *
 * The budget runs ahead of demand by `max(minHeadroom, rate × headroomSeconds)`, so issuing
 * never waits on it while MySQL is up; while MySQL is down issuing goes on until the headroom is
 * used up, then answers `unavailable` until MySQL returns.
 */
export type IssueBudgetOptions = {
  /** Budget a campaign opens with (capped at its total). */
  initial: number;
  /** Least headroom kept ahead of the issued count. */
  minHeadroom: number;
  /** Headroom in seconds of the current issue rate. */
  headroomSeconds: number;
  /** How often the budgets are checked, in ms. */
  intervalMs: number;
};

export type IssueBudgetDeps = { db: Db; redis: ScriptedRedis; bulkRedis: RedisClient; keys: RedisKeys; logger: Logger };

/** The budget for a campaign that is about to open. */
export function initialBudget(total: number, options: Pick<IssueBudgetOptions, "initial">): number {
  return Math.min(total, options.initial);
}

/** Records the budget in MySQL, never lowering it. Must succeed before Redis may use it. */
export async function recordBudget(db: Db, campaignId: number, allowance: number): Promise<void> {
  await db.execute(
    sql`UPDATE campaigns SET issue_allowance = GREATEST(issue_allowance, ${allowance}) WHERE id = ${campaignId}`,
  );
}

/** A sub-pool's budget: it may issue its codes at local positions up to `local`. */
export type SubPoolBudget = { sub: number; local: number };

/**
 * `recordBudget` for sub-pools of a campaign split into K > 1: each one's own local budget, in
 * `sub_pool_budgets`, never lowered. Must succeed before Redis may use it. A rebuild of a lost
 * sub-pool quarantines its codes up to its own budget (src/campaigns/rebuild.ts), so a sub-pool
 * that lags behind a busy one loses at most its own headroom to quarantine, not the codes the
 * busy one's budget would have covered.
 *
 * `campaigns.issue_allowance` is raised too, to the pool position that covers every sub-pool's
 * local budget (local · K): it stays a true campaign-wide bound ("no code past this position was
 * issued"), the rebuild's fallback for a sub-pool with no row (a campaign budgeted before the
 * table existed), and what an instance of an earlier version (a rollback) rebuilds from, which
 * must then quarantine too much rather than too little.
 */
export async function recordSubPoolBudgets(db: Db, campaignId: number, shards: number, budgets: readonly SubPoolBudget[]): Promise<void> {
  if (budgets.length === 0) return;
  await db.execute(sql`
    INSERT INTO sub_pool_budgets (campaign_id, sub, issue_allowance)
    VALUES ${sql.join(
      budgets.map((b) => sql`(${campaignId}, ${b.sub}, ${b.local})`),
      sql`, `,
    )}
    ON DUPLICATE KEY UPDATE issue_allowance = GREATEST(issue_allowance, VALUES(issue_allowance))`);
  await recordBudget(db, campaignId, allowanceForLocal(Math.max(...budgets.map((b) => b.local)), shards));
}

/** Keeps every open campaign's budget ahead of its issue rate. One per instance. */
export class IssueBudget {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  /** Last issued count and when it was read, per campaign: the rate estimate. */
  private readonly last = new Map<string, { issued: number; atMs: number }>();

  constructor(
    private readonly deps: IssueBudgetDeps,
    private readonly options: IssueBudgetOptions,
  ) {}

  start(): void {
    const tick = () => {
      this.running = this.runOnce().catch((err) => this.deps.logger.warn({ err }, "issue budget pass failed"));
      this.timer = setTimeout(() => void this.running.then(tick), this.options.intervalMs);
      this.timer.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass over the active campaigns; returns how many budgets it raised. */
  async runOnce(): Promise<number> {
    let raised = 0;
    const now = Date.now();
    // One sub-pool at a time (a campaign of one pool is its own sub-pool 0): each has its own
    // issued count and rate, and with K > 1 its own budget in MySQL (`recordSubPoolBudgets`).
    for (const member of await this.deps.bulkRedis.smembers(this.deps.keys.activeCampaigns)) {
      const k = this.deps.keys.campaign(member);
      const [state, issuedRaw, allowRaw, totalRaw, shardsRaw] = await this.deps.bulkRedis.hmget(k.meta, "state", "issued", "allow", "total", "shards");
      if ((state !== "ready" && state !== "paused") || allowRaw === null || totalRaw === null) continue;
      const issued = Number(issuedRaw ?? 0);
      const allow = Number(allowRaw);
      const total = Number(totalRaw);
      const prev = this.last.get(member);
      this.last.set(member, { issued, atMs: now });
      if (allow >= total) continue;
      const ratePerS = prev && now > prev.atMs ? ((issued - prev.issued) * 1000) / (now - prev.atMs) : 0;
      // The least headroom is the campaign's, shared by its sub-pools: K sub-pools each keeping all
      // of it would let a total loss of Redis cost K times as many quarantined codes.
      const shards = Number(shardsRaw ?? 1);
      const headroom = Math.max(Math.ceil(this.options.minHeadroom / shards), Math.ceil(ratePerS * this.options.headroomSeconds));
      const target = Math.min(total, issued + headroom);
      // Raise early, at half the headroom left, so a burst never catches up with the budget.
      if (allow - issued > headroom / 2) continue;
      if (target <= allow) continue;
      const { campaignId, sub } = parseSubPoolMember(member);
      if (shards === 1) await recordBudget(this.deps.db, campaignId, target);
      else await recordSubPoolBudgets(this.deps.db, campaignId, shards, [{ sub, local: target }]);
      await this.deps.redis.raiseBudget(k.meta, target);
      raised++;
    }
    return raised;
  }
}
