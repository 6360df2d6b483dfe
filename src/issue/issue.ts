import { notFound, unavailable } from "../errors.js";
import type { Db } from "../db/client.js";
import type { RedisKeys } from "../redis/keys.js";
import type { ScriptedRedis } from "../redis/scripts.js";
import { countIssues, findCampaign } from "../campaigns/repository.js";
import { withMysql } from "../db/errors.js";
import {
  campaignCancelled,
  campaignEnded,
  campaignLoading,
  campaignNotStarted,
  campaignPaused,
  campaignSoldOut,
} from "../lifecycle/errors.js";

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
 * "its pool is not loaded". The script's return codes are decoded here and nowhere else.
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
    case -8:
      throw unavailable(`campaign ${campaignId} is catching up on its issue budget; try again shortly`);
    case -7:
      throw campaignEnded(campaignId, Number(reply[1]));
    case -6:
      throw campaignCancelled(campaignId);
    case -5:
      throw campaignPaused(campaignId);
    case -4:
      throw campaignSoldOut(campaignId);
    case -3:
      throw campaignNotStarted(campaignId, Number(reply[1]));
    case -2:
      throw campaignLoading(campaignId);
    default:
      return explainMissingPool(deps, campaignId);
  }
}

/**
 * Redis has nothing for the campaign: it does not exist, or this Redis never held it or lost
 * it. MySQL's copy of the lifecycle gives a closed campaign its usual answer; an open one
 * without a pool needs an operator.
 */
async function explainMissingPool(deps: IssueDeps, campaignId: number): Promise<never> {
  const row = await withMysql("try again shortly", () => findCampaign(deps.db, campaignId));
  if (!row) throw notFound(`campaign ${campaignId} does not exist`);
  if (row.cancelledAt) throw campaignCancelled(campaignId);
  if (row.endTime && Date.now() >= row.endTime.getTime()) throw campaignEnded(campaignId, row.endTime.getTime());
  if (row.status === "loading") throw campaignLoading(campaignId);
  const issued = await withMysql("try again shortly", () => countIssues(deps.db, campaignId));
  if (issued >= row.totalCoupons) throw campaignSoldOut(campaignId);
  throw unavailable(
    `campaign ${campaignId} has no coupon pool in Redis; an operator must rebuild it (npm run campaign -- rebuild ${campaignId})`,
  );
}
