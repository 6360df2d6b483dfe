import { requireCampaign } from "../campaigns/campaign-snapshot.js";
import { withRedis } from "../db/errors.js";
import { unavailable } from "../errors.js";
import type { LifecycleDeps } from "./deps.js";
import { campaignCancelled, campaignLoading } from "./errors.js";

export type StateChange = {
  /** False when the campaign already was in the target state. */
  changed: boolean;
  /** Codes issued when the state changed: final for a cancellation. */
  issued: number;
};

/**
 * Runs `set-state.lua` and decodes its answer. Redis's meta hash is what issuing obeys, so this
 * is the moment the change takes effect on every instance; MySQL's copy is written after.
 */
export async function setCampaignState(
  deps: LifecycleDeps,
  id: number,
  target: "paused" | "ready" | "cancelled",
): Promise<StateChange> {
  const k = deps.keys.campaign(id);
  const reply = await withRedis("the campaign was not changed", () => deps.redis.setCampaignState(k.meta, target));
  switch (reply[0]) {
    case 0:
    case 1:
      return { changed: reply[0] === 0, issued: reply[1]! };
    case -2:
      throw campaignLoading(id);
    case -6:
      throw campaignCancelled(id);
    default:
      await requireCampaign(deps.db, id);
      throw unavailable(`campaign ${id} has no coupon pool in Redis; an operator must rebuild it`);
  }
}
