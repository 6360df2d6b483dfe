import { requireCampaign } from "../campaigns/campaign-snapshot.js";
import { withRedis } from "../db/errors.js";
import { unavailable } from "../errors.js";
import type { CampaignKeys } from "../redis/keys.js";
import type { LifecycleDeps } from "./deps.js";
import { campaignCancelled, campaignLoading } from "./errors.js";

export type StateChange = {
  /** False when the campaign already was in the target state. */
  changed: boolean;
  /** Codes issued when the state changed: final for a cancellation. Summed over the sub-pools. */
  issued: number;
  /** Sub-pools of the campaign (1 for one pool). */
  shards: number;
};

type Target = "paused" | "ready" | "cancelled";

/** One meta hash's answer: changed (or already so), or the script's refusal status. */
type SubPoolAnswer = { ok: true; changed: boolean; issued: number; shards: number } | { ok: false; status: number; shards: number };

/**
 * Runs `set-state.lua` and decodes its answer. Redis's meta hash is what issuing obeys, so this
 * is the moment the change takes effect on every instance; MySQL's copy is written after.
 *
 * A campaign split into K sub-pools has a meta hash per sub-pool, each obeyed by the issue
 * script on its own: every one must be changed before the caller answers, or a caller whose
 * walk reaches a sub-pool still `ready` would be issued a code after "paused". Sub-pool 0 goes
 * first (its answer says K), then the other K − 1 all at once (they may be on different
 * masters; no MULTI spans them). So a cancellation that reached any sub-pool reached sub-pool 0,
 * which then refuses a pause or resume before anything else is touched. Every sub-pool that can
 * take the state takes it even when another refuses (one still loading after a rebuild, one lost
 * with its Redis): a pause or cancel stops every sub-pool it can, and the answer is the refusal
 * of the first sub-pool, in order, that did not take it. The script is idempotent per sub-pool,
 * so a call that failed partway (a refusal, a Redis error) is finished by calling again.
 */
export async function setCampaignState(deps: LifecycleDeps, id: number, target: Target): Promise<StateChange> {
  const first = await setSubPoolState(deps, deps.keys.campaign(id), target);
  // A lost sub-pool 0 cannot say K: MySQL can (and tells a campaign that does not exist).
  const shards = !first.ok && first.status === -1 ? (await requireCampaign(deps.db, id)).shards : first.shards;
  // Cancelled is for good: nothing else to change, whatever the other sub-pools say.
  const answers =
    shards === 1 || (!first.ok && first.status === -6)
      ? [first]
      : [first, ...(await settleAll(deps.keys.subPools(id, shards).slice(1).map((k) => setSubPoolState(deps, k, target))))];
  const refused = answers.find((a) => !a.ok);
  if (refused && !refused.ok) return refuse(id, refused.status);
  return answers.reduce<StateChange>(
    (sum, a) => (a.ok ? { ...sum, changed: sum.changed || a.changed, issued: sum.issued + a.issued } : sum),
    { changed: false, issued: 0, shards },
  );
}

async function setSubPoolState(deps: LifecycleDeps, k: CampaignKeys, target: Target): Promise<SubPoolAnswer> {
  const reply = await withRedis("the campaign was not changed", () => deps.redis.setCampaignState(k.meta, target));
  const status = reply[0]!;
  if (status === 0 || status === 1) return { ok: true, changed: status === 0, issued: reply[1]!, shards: reply[2] ?? 1 };
  return { ok: false, status, shards: reply[1] ?? 1 };
}

/** Waits for every sub-pool's call, then throws the first failure (in sub-pool order), if any. */
async function settleAll(calls: Array<Promise<SubPoolAnswer>>): Promise<SubPoolAnswer[]> {
  const settled = await Promise.allSettled(calls);
  const failed = settled.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return settled.map((r) => (r as PromiseFulfilledResult<SubPoolAnswer>).value);
}

function refuse(id: number, status: number): never {
  switch (status) {
    case -2:
      throw campaignLoading(id);
    case -6:
      throw campaignCancelled(id);
    default:
      throw unavailable(`campaign ${id} has no coupon pool in Redis; an operator must rebuild it`);
  }
}
