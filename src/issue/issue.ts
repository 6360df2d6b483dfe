import { AppError, notFound, unavailable } from "../errors.js";
import type { Db } from "../db/client.js";
import { rateLimitKey, type RedisKeys } from "../redis/keys.js";
import type { RefusalMemo } from "./refusal-memo.js";
import { issueFromSubPools, type KnownShards } from "./sub-pool-walk.js";
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

/** Optional per-caller limits on IssueCoupon calls; 0 turns a limit off. */
export type IssueRateLimits = { perUser: number; perIp: number; windowMs: number };

export type IssueDeps = {
  redis: ScriptedRedis;
  keys: RedisKeys;
  db: Db;
  rateLimits: IssueRateLimits;
  refusals: RefusalMemo;
  /** Campaigns this instance has learnt are split into sub-pools. */
  shards: KnownShards;
};

export type Caller = {
  /** "" for an anonymous caller. */
  userId: string;
  /** The client's address, for the per-address limit; "" when unknown. */
  ip: string;
};

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
 * A refusal this instance already knows to be true (sold out, not started: RefusalMemo) costs
 * no round trip at all. A campaign split into sub-pools answers {-10, K} to a caller that did
 * not know: from then on this instance walks its sub-pools (src/issue/sub-pool-walk.ts).
 */
export async function issueCoupon(deps: IssueDeps, campaignId: number, caller: Caller): Promise<IssuedCoupon> {
  const known = deps.refusals.refusal(campaignId, caller.userId);
  if (known) throw known;
  return issueAskingRedis(deps, campaignId, caller);
}

/** `issueCoupon` past the refusal memo: for a caller the memo has just been asked about. */
export async function issueAskingRedis(deps: IssueDeps, campaignId: number, caller: Caller): Promise<IssuedCoupon> {
  const shards = deps.shards.of(campaignId);
  if (shards !== undefined) return issueFromSubPools(deps, campaignId, shards, caller);
  const k = deps.keys.campaignCached(campaignId);
  const { perUser, perIp, windowMs } = deps.rateLimits;
  const userLimit = perUser > 0 && caller.userId !== "" ? perUser : 0;
  const ipLimit = perIp > 0 && caller.ip !== "" ? perIp : 0;
  let reply: unknown[];
  try {
    if (userLimit === 0 && ipLimit === 0) {
      // No limit applies (the default): the four campaign keys and the user, nothing more.
      reply = await deps.redis.issueCoupon(k.meta, k.pool, k.users, k.stream, caller.userId);
    } else {
      // A limit that is off gets no counter key: the script ignores KEYS[5]/KEYS[6] then.
      const userRate = userLimit > 0 ? rateLimitKey(k, "user", caller.userId) : k.meta;
      const ipRate = ipLimit > 0 ? rateLimitKey(k, "ip", caller.ip) : k.meta;
      reply = await deps.redis.issueCouponLimited(k.meta, k.pool, k.users, k.stream, userRate, ipRate, caller.userId, userLimit, ipLimit, windowMs);
    }
  } catch (err) {
    throw poolUnavailable(err);
  }
  const status = reply[0] as number;
  if (status >= 0) return { code: reply[1] as string, sequence: reply[2] as number, repeated: status === 1 };
  if (status === -10) {
    deps.shards.learn(campaignId, reply[1] as number);
    return issueFromSubPools(deps, campaignId, reply[1] as number, caller);
  }
  if (status === -4) {
    deps.refusals.sawSoldOut(campaignId, reply[1] as number);
    throw campaignSoldOut(campaignId);
  }
  return refuse(deps, campaignId, reply);
}

/** The unavailable answer when the issue script could not run. */
export function poolUnavailable(err: unknown): AppError {
  return unavailable("the coupon pool (Redis) is unavailable; try again shortly", err);
}

/** Throws the answer for one of the issue script's refusals other than sold out (-4). */
export function refuse(deps: IssueDeps, campaignId: number, reply: unknown[]): Promise<never> {
  const status = reply[0] as number;
  switch (status) {
    case -9:
      throw new AppError(
        "resource_exhausted",
        `too many requests for campaign ${campaignId} from this ${reply[1] === "user" ? "user" : "address"}; retry in ${Math.max(1, Number(reply[2]))} ms`,
      );
    case -8:
      throw unavailable(`campaign ${campaignId} is catching up on its issue budget; try again shortly`);
    case -7:
      throw campaignEnded(campaignId, Number(reply[1]));
    case -6:
      throw campaignCancelled(campaignId);
    case -5:
      throw campaignPaused(campaignId);
    case -3:
      deps.refusals.sawNotStarted(campaignId, Number(reply[1]));
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
