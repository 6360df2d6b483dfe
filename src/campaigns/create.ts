import { withMysql } from "../db/errors.js";
import type { Db } from "../db/client.js";
import { insertCampaign } from "./repository.js";
import { newLoadToken } from "./load-lease.js";
import type { PoolLoader } from "./load-pool.js";
import { validateCreateCampaign, type CreateCampaignInput } from "./validation.js";

export type CreateDeps = { db: Db; loader: PoolLoader };

/**
 * Creates a campaign and starts loading its pool in the background. Returns the id at once: the
 * campaign reads `loading` until the pool is complete, and refuses to issue until then.
 */
export async function createCampaign(deps: CreateDeps, input: CreateCampaignInput): Promise<number> {
  const valid = validateCreateCampaign(input, Date.now());
  const token = newLoadToken();
  const row = await withMysql("the campaign was not created", () =>
    insertCampaign(deps.db, {
      name: valid.name,
      startTime: new Date(valid.startTimeMs),
      endTime: valid.endTimeMs === null ? null : new Date(valid.endTimeMs),
      totalCoupons: valid.totalCoupons,
      shards: valid.shards,
    }, token),
  );
  void deps.loader.start(row, { token, fence: row.loadFence });
  return row.id;
}
