import { homeSubPool } from "../campaigns/sub-pools.js";
import { campaignSoldOut } from "../lifecycle/errors.js";
import { rateLimitKey, type CampaignKeys } from "../redis/keys.js";
import { poolUnavailable, refuse, type Caller, type IssueDeps, type IssuedCoupon } from "./issue.js";

/**
 * The campaigns this instance knows are split into sub-pools, with their K. A campaign's K never
 * changes, so an entry never goes stale; a campaign of one sub-pool is never listed.
 */
export class KnownShards {
  private readonly byCampaign = new Map<number, number>();

  of(campaignId: number): number | undefined {
    return this.byCampaign.get(campaignId);
  }

  learn(campaignId: number, shards: number): void {
    if (this.byCampaign.size >= 4096) this.byCampaign.clear();
    this.byCampaign.set(campaignId, shards);
  }
}

/** Where the next anonymous caller starts: turn by turn, so anonymous load spreads evenly. */
let anonymousTurn = 0;

/**
 * Issues one coupon of a campaign split into K sub-pools (src/campaigns/sub-pools.ts): the call
 * goes to one sub-pool and, while the sub-pools it meets are empty, walks on in a fixed order
 * (start, start + 1, … mod K) until one issues or all are empty (sold out).
 *
 * A named caller starts at the sub-pool their user id hashes to, so they meet the same sub-pools
 * in the same order on every call, on every instance. Sub-pools only shrink between rebuilds,
 * so the first non-empty sub-pool they met, the one that issued their code, is again the first
 * they meet that is not empty or holds their record: each sub-pool's script checks its own
 * holders before it pops, and a second code is never popped. (A rebuild that refills a sub-pool
 * restores the record of every user whose walk passes it before their code's sub-pool: see
 * src/campaigns/rebuild.ts.) An anonymous caller starts anywhere.
 *
 * Sub-pools this instance saw empty are skipped without a round trip (RefusalMemo): always for
 * an anonymous caller, and for a named caller only when that sub-pool's holders filter says they
 * certainly hold nothing there, since skipping the sub-pool holding their code would pop a
 * second one further on. After the sell-out most refusals therefore cost no round trip at all.
 *
 * Rate limits are counted once, at the first sub-pool, which is then never skipped: a named
 * caller's per-user counter lives in their home sub-pool's slot, an anonymous caller with a
 * per-address limit starts at the sub-pool the address hashes to. A named caller's per-address
 * counter lives in the address's sub-pool; when that is not the user's, it costs one more round
 * trip (count-call.lua) before the walk.
 */
export async function issueFromSubPools(deps: IssueDeps, campaignId: number, shards: number, caller: Caller): Promise<IssuedCoupon> {
  const pools = deps.keys.subPoolsCached(campaignId, shards);
  const { userId, ip } = caller;
  const { perUser, perIp, windowMs } = deps.rateLimits;
  const userLimit = perUser > 0 && userId !== "" ? perUser : 0;
  let ipLimit = perIp > 0 && ip !== "" ? perIp : 0;
  const ipHome = ipLimit > 0 ? homeSubPool(ip, shards) : 0;
  const start = userId !== "" ? homeSubPool(userId, shards) : ipLimit > 0 ? ipHome : (anonymousTurn = (anonymousTurn + 1) % shards);
  if (ipLimit > 0 && ipHome !== start) {
    await countElsewhere(deps, campaignId, pools[ipHome]!, ip, ipLimit, windowMs);
    ipLimit = 0;
  }
  const limited = userLimit > 0 || ipLimit > 0;
  /** A sub-pool's "over its budget" answer, given only if no other sub-pool issues. */
  let overBudget: unknown[] | undefined;

  for (let step = 0; step < shards; step++) {
    const sub = (start + step) % shards;
    const first = step === 0 && limited;
    if (!first && deps.refusals.skipsSubPool(campaignId, sub, userId)) continue;
    const k = pools[sub]!;
    let reply: unknown[];
    try {
      reply = first
        ? await deps.redis.issueCouponLimited(
            k.meta,
            k.pool,
            k.users,
            k.stream,
            userLimit > 0 ? rateLimitKey(k, "user", userId) : k.meta,
            ipLimit > 0 ? rateLimitKey(k, "ip", ip) : k.meta,
            userId,
            userLimit,
            ipLimit,
            windowMs,
            shards,
          )
        : await deps.redis.issueCouponSharded(k.meta, k.pool, k.users, k.stream, userId, 0, 0, 0, shards);
    } catch (err) {
      throw poolUnavailable(err);
    }
    const status = reply[0] as number;
    if (status >= 0) return { code: reply[1] as string, sequence: reply[2] as number, repeated: status === 1 };
    if (status === -8 && userId === "") {
      // Out of its issue budget until it is raised, but not empty. An anonymous caller may take a
      // code elsewhere; a named one may not: passing over a sub-pool that is not empty could give
      // them a second code there later.
      overBudget = reply;
      continue;
    }
    if (status !== -4) return refuse(deps, campaignId, reply);
    deps.refusals.sawSubPoolEmpty(campaignId, sub, shards, reply[1] as number);
  }
  if (overBudget) return refuse(deps, campaignId, overBudget);
  deps.refusals.sawAllSubPoolsEmpty(campaignId, shards);
  throw campaignSoldOut(campaignId);
}

/** Counts a call against a limit whose counter lives in another sub-pool's slot; throws when over. */
async function countElsewhere(deps: IssueDeps, campaignId: number, k: CampaignKeys, ip: string, limit: number, windowMs: number): Promise<void> {
  let retryMs: number;
  try {
    retryMs = await deps.redis.countCall(rateLimitKey(k, "ip", ip), limit, windowMs);
  } catch (err) {
    throw poolUnavailable(err);
  }
  // The issue script's own answer for a caller over the per-address limit.
  if (retryMs > 0) await refuse(deps, campaignId, [-9, "ip", retryMs]);
}
