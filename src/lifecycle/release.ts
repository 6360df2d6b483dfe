import { withRedis } from "../db/errors.js";
import { subPoolMember } from "../redis/keys.js";
import type { LifecycleDeps } from "./deps.js";

export type ReleaseOutcome =
  | { released: true; pooled: number }
  | { released: false; reason: "missing" | "loading" | "unpersisted" };

/**
 * Runs `release-keys.lua`: removes a closed campaign's pool, users hash and stream, keeping the
 * meta hash as a tombstone. `owners` is the number of owner records the caller counted in MySQL;
 * the script refuses unless it equals Redis's issued count and the stream is empty.
 *
 * The campaign leaves the persisters' watch list only after the script released its keys, never
 * before: removing it first and putting it back after a refusal could put it back after another
 * instance had released it, leaving an id without a stream in the list for good. (The removal
 * cannot be inside the script: on a Redis Cluster the list lives in another slot.) A persister
 * pass that meets the stream just deleted skips that campaign (src/persist/persister.ts), and a
 * crash between the two steps is mended by the sweeper's next pass, which removes any id whose
 * meta says it was released.
 */
export function releaseCampaignKeys(deps: LifecycleDeps, id: number, owners: number): Promise<ReleaseOutcome> {
  return releaseSubPoolKeys(deps, id, 0, owners);
}

/**
 * `releaseCampaignKeys` for one sub-pool of a campaign split into several (sub-pool 0 is the
 * campaign's own keys, so for a campaign of one pool the two are the same call). `owners` is that
 * sub-pool's own count (owners plus quarantined codes of its sequences), compared with its own
 * `issued`. Only `releaseSubPools` calls it for K > 1: a sub-pool's users hash may go only once
 * no sub-pool of the campaign can issue.
 */
export function releaseSubPoolKeys(deps: LifecycleDeps, id: number, sub: number, owners: number): Promise<ReleaseOutcome> {
  return withRedis("the campaign's keys were not released", async () => {
    const k = deps.keys.subPool(id, sub);
    const reply = await deps.redis.releaseCampaignKeys(k.meta, k.pool, k.users, k.stream, owners);
    if (reply[0] === 0 || reply[0] === 1) {
      await deps.bulkRedis.srem(deps.keys.activeCampaigns, subPoolMember(id, sub));
      return { released: true, pooled: reply[1]! };
    }
    return { released: false, reason: reply[0] === -1 ? "missing" : reply[0] === -2 ? "loading" : "unpersisted" };
  });
}

/**
 * Releases every sub-pool of a closed campaign split into K sub-pools, in order, stopping at the
 * first that the script refuses. The caller has decided that the whole campaign is closed (no
 * sub-pool can issue: all cancelled, past the end, or all empty) and that every sub-pool's owners
 * are in MySQL (`ownersBySubPool[j]` equals sub-pool j's `issued`); each script call re-checks
 * its own sub-pool atomically. Releases of different sub-pools are not one atomic step (their
 * keys may be on different masters), but they need not be: once closed, a campaign stays closed,
 * so a release cut short by a crash or a refusal is finished by the next sweeper pass, and until
 * then a walk that meets a released sub-pool finds it empty, as it would anyway.
 */
export async function releaseSubPools(deps: LifecycleDeps, id: number, ownersBySubPool: readonly number[]): Promise<ReleaseOutcome> {
  let pooled = 0;
  for (const [sub, owners] of ownersBySubPool.entries()) {
    const outcome = await releaseSubPoolKeys(deps, id, sub, owners);
    if (!outcome.released) return outcome;
    pooled += outcome.pooled;
  }
  return { released: true, pooled };
}
