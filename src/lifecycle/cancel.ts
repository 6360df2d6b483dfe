import { readCampaignView, requireCampaign, type CampaignView } from "../campaigns/campaign-snapshot.js";
import { countAccountedIssues, setCancelled, voidUnissuedCodes } from "../campaigns/repository.js";
import { withMysql, withRedis } from "../db/errors.js";
import { execMulti } from "../redis/multi.js";
import type { LifecycleDeps } from "./deps.js";
import { releaseCampaignKeys } from "./release.js";
import { setCampaignState } from "./set-state.js";

/**
 * CancelCampaign. In order:
 *  1. Redis: state `cancelled`. Issuing stops here, atomically, on every instance; the script
 *     returns the final issued count.
 *  2. MySQL: `cancelled_at`, which also stops redemptions of the campaign's codes.
 *  3. If every issued owner is already in MySQL: void the unissued codes and free the pool
 *     (`finishCancel`). Otherwise the sweeper does it as soon as the persister has caught up;
 *     voiding earlier would void codes that were issued but are not yet in MySQL.
 * Every step is idempotent, so cancelling again after a crash completes the work.
 */
export async function cancelCampaign(deps: LifecycleDeps, id: number): Promise<{ changed: boolean; view: CampaignView }> {
  const { changed } = await setCampaignState(deps, id, "cancelled");
  await withMysql("issuing stopped but the cancellation is not yet recorded in MySQL; cancel again", () =>
    setCancelled(deps.db, id),
  );
  await finishCancel(deps, id);
  return { changed, view: await readCampaignView(deps, id) };
}

/**
 * Voids the unissued codes of a cancelled campaign and frees its Redis keys, once every issued
 * owner is in MySQL. Returns false, having changed nothing, while some are still on the stream.
 */
export async function finishCancel(deps: LifecycleDeps, id: number): Promise<boolean> {
  const k = deps.keys.campaign(id);
  const [issued, pending] = (await withRedis("cannot finish the cancellation", () =>
    execMulti(deps.bulkRedis.multi().hget(k.meta, "issued").xlen(k.stream)),
  )) as [string | null, number];
  if (pending > 0) return false;
  const row = await requireCampaign(deps.db, id);
  const owners = await withMysql("cannot finish the cancellation", () => countAccountedIssues(deps.db, id));
  if (issued !== null && owners !== Number(issued)) {
    deps.logger.warn({ campaignId: id, issued: Number(issued), owners }, "cancelled campaign: owners in MySQL do not match Redis; codes not voided");
    return false;
  }
  // Repairs a cancellation whose MySQL step a crash missed (the sweeper finds it by Redis's state).
  if (!row.cancelledAt) await setCancelled(deps.db, id);
  await withMysql("cannot void the unissued codes", () => voidUnissuedCodes(deps.db, id, row.totalCoupons));
  const outcome = await releaseCampaignKeys(deps, id, owners);
  if (outcome.released) deps.logger.info({ campaignId: id, voided: outcome.pooled }, "cancelled campaign's pool freed");
  return outcome.released || outcome.reason === "missing";
}
