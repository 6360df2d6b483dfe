import { withRedis } from "../db/errors.js";
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
  return withRedis("the campaign's keys were not released", async () => {
    const k = deps.keys.campaign(id);
    const reply = await deps.redis.releaseCampaignKeys(k.meta, k.pool, k.users, k.stream, owners);
    if (reply[0] === 0 || reply[0] === 1) {
      await deps.bulkRedis.srem(deps.keys.activeCampaigns, String(id));
      return { released: true, pooled: reply[1]! };
    }
    return { released: false, reason: reply[0] === -1 ? "missing" : reply[0] === -2 ? "loading" : "unpersisted" };
  });
}
