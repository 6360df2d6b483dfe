import { eq } from "drizzle-orm";
import { campaigns } from "../db/schema.js";
import { takeLoadLease } from "./load-lease.js";
import type { LoadDeps, PoolLoader } from "./load-pool.js";
import { FillFenced, finishFill } from "./pool-fill.js";
import { subPoolSize } from "./sub-pools.js";
import { parseSubPoolMember } from "../redis/keys.js";

export type ResumeDeps = Pick<LoadDeps, "db" | "bulkRedis" | "keys" | "logger" | "loadLeaseMs"> & { loader: PoolLoader };

/**
 * Finishes what a dead instance left half done, so that an interrupted CreateCampaign ends as a
 * consistent campaign:
 *   - a campaign still `loading` in MySQL whose loader stopped renewing its lease is loaded again
 *     from scratch by whoever takes the lease (nothing was issued from it: Redis refuses a
 *     loading pool);
 *   - a campaign `ready` in MySQL whose Redis meta still says `loading` (the loader died between
 *     the two writes, after the whole pool was pushed) is switched to ready, under the fence of
 *     the load MySQL recorded as finished and only if that load's pool is complete.
 * Returns how many campaigns it acted on.
 */
export async function resumeLoads(deps: ResumeDeps): Promise<number> {
  let acted = 0;
  const loading = await deps.db.select().from(campaigns).where(eq(campaigns.status, "loading"));
  for (const row of loading) {
    if (deps.loader.isLoading(row.id)) continue;
    const lease = await takeLoadLease(deps.db, row.id, deps.loadLeaseMs);
    if (!lease) continue; // a live loader holds it
    deps.logger.warn({ campaignId: row.id, previousLoader: row.loadOwner, fence: lease.fence }, "resuming an interrupted pool load");
    void deps.loader.start(row, lease);
    acted++;
  }
  for (const member of await deps.bulkRedis.smembers(deps.keys.activeCampaigns)) {
    // One sub-pool at a time: each has its own meta and its own complete-pool mark.
    const { campaignId: id, sub } = parseSubPoolMember(member);
    const k = deps.keys.campaign(member);
    if ((await deps.bulkRedis.hget(k.meta, "state")) !== "loading" || deps.loader.isLoading(id)) continue;
    const [row] = await deps.db
      .select({ status: campaigns.status, fence: campaigns.loadFence, total: campaigns.totalCoupons, shards: campaigns.shards })
      .from(campaigns)
      .where(eq(campaigns.id, id));
    if (row?.status !== "ready") continue;
    try {
      const mark = subPoolSize(sub, row.shards, row.total);
      if (!(await finishFill(deps.bulkRedis, k.meta, "load", row.fence, mark, { state: "ready" }))) continue;
    } catch (err) {
      if (err instanceof FillFenced) continue; // a rebuild, or not this load's complete pool: not ours to finish
      throw err;
    }
    deps.logger.warn({ campaignId: id, subPool: sub }, "finished a pool load whose loader died before flipping Redis to ready");
    acted++;
  }
  return acted;
}

/** Runs `resumeLoads` at start and then once per lease period, in every instance. */
export class LoadRecovery {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly deps: ResumeDeps,
    private readonly everyMs = deps.loadLeaseMs,
  ) {}

  start(): void {
    const tick = () => {
      this.running = resumeLoads(this.deps).catch((err) => this.deps.logger.warn({ err }, "load recovery pass failed"));
      this.timer = setTimeout(() => void this.running.then(tick), this.everyMs);
      this.timer.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    await this.running;
  }
}
