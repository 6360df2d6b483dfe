import { withRedis } from "../db/errors.js";
import type { LifecycleDeps } from "./deps.js";

export type ReleaseOutcome =
  | { released: true; pooled: number }
  | { released: false; reason: "missing" | "loading" | "unpersisted" };

/**
 * Runs `release-keys.lua`: removes a closed campaign's pool, users hash and stream, keeping the
 * meta hash as a tombstone. `owners` is the number of owner records the caller counted in MySQL;
 * the script refuses unless it equals Redis's issued count and the stream is empty. The campaign
 * also leaves the persister's watch list, first, so that no persister pass starts on a stream
 * that is about to go; if the script refuses, it goes back.
 */
export function releaseCampaignKeys(deps: LifecycleDeps, id: number, owners: number): Promise<ReleaseOutcome> {
  return withRedis("the campaign's keys were not released", async () => {
    const k = deps.keys.campaign(id);
    await deps.bulkRedis.srem(deps.keys.activeCampaigns, String(id));
    let reply: number[];
    try {
      reply = await deps.redis.releaseCampaignKeys(k.meta, k.pool, k.users, k.stream, owners);
    } catch (err) {
      await deps.bulkRedis.sadd(deps.keys.activeCampaigns, String(id)).catch(() => undefined);
      throw err;
    }
    if (reply[0] === 0 || reply[0] === 1) return { released: true, pooled: reply[1]! };
    if (reply[0] !== -1) await deps.bulkRedis.sadd(deps.keys.activeCampaigns, String(id));
    return { released: false, reason: reply[0] === -1 ? "missing" : reply[0] === -2 ? "loading" : "unpersisted" };
  });
}
