import { AppError, failedPrecondition, notFound, unavailable } from "../errors.js";
import type { Db } from "../db/client.js";
import type { RedisKeys } from "../redis/keys.js";
import type { ScriptedRedis } from "../redis/scripts.js";
import { findCampaign } from "../campaigns/repository.js";
import { withMysql } from "../db/errors.js";

export type IssueDeps = { redis: ScriptedRedis; keys: RedisKeys; db: Db };

export type IssuedCoupon = {
  code: string;
  /** 1 for the first code of the campaign. */
  sequence: number;
  /** True when this user already held the code and got it again. */
  repeated: boolean;
};

/**
 * Issues one coupon: a single EVALSHA of `issue-coupon.lua`, nothing else on the way. MySQL is
 * consulted only when Redis does not know the campaign, to tell "no such campaign" apart from
 * "its pool is not loaded".
 */
export async function issueCoupon(deps: IssueDeps, campaignId: number, userId: string): Promise<IssuedCoupon> {
  const k = deps.keys.campaign(campaignId);
  let reply: unknown[];
  try {
    reply = await deps.redis.issueCoupon(k.meta, k.pool, k.users, k.stream, userId);
  } catch (err) {
    throw unavailable("the coupon pool (Redis) is unavailable; try again shortly", err);
  }
  const status = reply[0] as number;
  if (status >= 0) return { code: reply[1] as string, sequence: reply[2] as number, repeated: status === 1 };
  switch (status) {
    case -4:
      throw new AppError("resource_exhausted", `campaign ${campaignId} is sold out`);
    case -3:
      throw failedPrecondition(
        `campaign ${campaignId} has not started yet; it opens at ${new Date(Number(reply[1])).toISOString()}`,
      );
    case -2:
      throw failedPrecondition(`campaign ${campaignId} is still loading its coupon pool; try again shortly`);
    default:
      return explainMissingPool(deps, campaignId);
  }
}

async function explainMissingPool(deps: IssueDeps, campaignId: number): Promise<never> {
  const row = await withMysql("try again shortly", () => findCampaign(deps.db, campaignId));
  if (!row) throw notFound(`campaign ${campaignId} does not exist`);
  if (row.status === "loading") {
    throw failedPrecondition(`campaign ${campaignId} is still loading its coupon pool; try again shortly`);
  }
  throw unavailable(`campaign ${campaignId} has no coupon pool in Redis; an operator must rebuild it`);
}
