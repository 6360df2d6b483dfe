import type { RedisClient } from "../redis/client.js";
import type { Logger } from "pino";
import type { Db } from "../db/client.js";
import type { CodeGenerator } from "../codes/generator.js";
import { PERSISTER_GROUP, type RedisKeys } from "../redis/keys.js";
import { initialBudget, recordBudget } from "./issue-budget.js";
import { holdLoadLease } from "./load-lease.js";
import { deleteCodes, insertCodes, setLoadProgress, type CampaignRow } from "./repository.js";

export type LoadDeps = {
  db: Db;
  bulkRedis: RedisClient;
  keys: RedisKeys;
  codes: CodeGenerator;
  logger: Logger;
  /** The issue budget a campaign opens with (src/campaigns/issue-budget.ts). */
  initialIssueBudget: number;
  /** How long a silent loader keeps its lease (src/campaigns/load-lease.ts), in ms. */
  loadLeaseMs: number;
};

/** Codes per MySQL INSERT and per RPUSH: large enough to amortise round trips, small enough to
 * keep each statement well under max_allowed_packet (5,000 × ~40 B). */
const CHUNK = 5000;

/**
 * Generates every code of a campaign, writes them to MySQL and pushes them to the Redis pool,
 * then flips the campaign to `ready`. The issue script refuses a campaign whose meta says
 * `loading`, so a half-loaded pool is never issued from; a load that dies halfway is simply
 * started again from scratch (nothing was issued).
 *
 * Chunks are pipelined: the next chunk is generated while the previous one is being written.
 */
export class LoadLeaseLost extends Error {
  override readonly name = "LoadLeaseLost";
}

export async function loadPool(deps: LoadDeps, campaign: CampaignRow): Promise<void> {
  const { db, bulkRedis, keys } = deps;
  // Every step starts by renewing the lease: a loader that lost it (it stalled past the lease and
  // another instance took over) stops before touching the pool again.
  const renew = async () => {
    if (!(await holdLoadLease(db, campaign.id, deps.loadLeaseMs))) throw new LoadLeaseLost(`lost the load lease of campaign ${campaign.id}`);
  };
  await renew();
  const k = keys.campaign(campaign.id);
  const total = campaign.totalCoupons;
  // The budget goes to MySQL before Redis may use it (src/campaigns/issue-budget.ts).
  const allow = initialBudget(total, { initial: deps.initialIssueBudget });
  await recordBudget(db, campaign.id, allow);
  await bulkRedis
    .multi()
    .del(k.pool, k.users, k.stream, k.meta)
    .hset(k.meta, {
      state: "loading",
      start_ms: campaign.startTime.getTime(),
      ...(campaign.endTime ? { end_ms: campaign.endTime.getTime() } : {}),
      total,
      issued: 0,
      allow,
    })
    .exec();
  await deleteCodes(db, campaign.id);

  let inFlight: Promise<unknown> = Promise.resolve();
  for (let first = 0; first < total; first += CHUNK) {
    const n = Math.min(CHUNK, total - first);
    const codes = deps.codes.codes(campaign.codeOffset + first, n);
    await inFlight;
    await renew();
    const loaded = first + n;
    inFlight = Promise.all([insertCodes(db, campaign.id, first + 1, codes), bulkRedis.rpush(k.pool, ...codes)]).then(
      () => setLoadProgress(db, campaign.id, loaded, "loading"),
    );
  }
  await inFlight;
  await renew();

  try {
    await bulkRedis.xgroup("CREATE", k.stream, PERSISTER_GROUP, "0", "MKSTREAM");
  } catch (err) {
    if (!String((err as Error).message).includes("BUSYGROUP")) throw err;
  }
  await bulkRedis.sadd(keys.activeCampaigns, String(campaign.id));
  // MySQL first: if we die between the two, MySQL says ready while Redis still refuses to issue,
  // which is safe; the opposite order could let a crash-restart reload an issuing pool.
  await setLoadProgress(db, campaign.id, total, "ready");
  await bulkRedis.hset(k.meta, "state", "ready");
}

/**
 * Runs pool loads in the background of this instance and remembers them, so that shutdown can
 * wait for them and tests can wait on a load's completion.
 */
export class PoolLoader {
  private readonly running = new Map<number, Promise<void>>();

  constructor(private readonly deps: LoadDeps) {}

  isLoading(campaignId: number): boolean {
    return this.running.has(campaignId);
  }

  start(campaign: CampaignRow): Promise<void> {
    const running = this.running.get(campaign.id);
    if (running) return running;
    const p = loadPool(this.deps, campaign)
      .then(() => this.deps.logger.info({ campaignId: campaign.id, total: campaign.totalCoupons }, "pool loaded"))
      .catch((err) => this.deps.logger.error({ err, campaignId: campaign.id }, "pool load failed"))
      .finally(() => this.running.delete(campaign.id));
    this.running.set(campaign.id, p);
    return p;
  }

  /** Resolves when every load started so far has finished (successfully or not). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running.values());
  }
}
