import { readCampaignView, requireCampaign, type CampaignView } from "../campaigns/campaign-snapshot.js";
import {
  countAccountedIssues,
  countAccountedIssuesBySubPool,
  setCancelled,
  voidUnissuedCodes,
} from "../campaigns/repository.js";
import { withMysql, withRedis } from "../db/errors.js";
import { execMulti } from "../redis/multi.js";
import type { LifecycleDeps } from "./deps.js";
import { releaseCampaignKeys, releaseSubPools } from "./release.js";
import { setCampaignState } from "./set-state.js";

/**
 * CancelCampaign. In order:
 *  1. Redis: state `cancelled`. Issuing stops here, atomically, on every instance; the script
 *     returns the final issued count. A campaign split into sub-pools is cancelled on every
 *     sub-pool before anything else (src/lifecycle/set-state.ts).
 *  2. MySQL: `cancelled_at`, which also stops redemptions of the campaign's codes.
 *  3. If every issued owner is already in MySQL: void the unissued codes and free the pool
 *     (`finishCancel`). Otherwise the sweeper does it as soon as the persister has caught up;
 *     voiding earlier would void codes that were issued but are not yet in MySQL.
 * Every step is idempotent, so cancelling again after a crash completes the work.
 */
export async function cancelCampaign(deps: LifecycleDeps, id: number): Promise<{ changed: boolean; view: CampaignView }> {
  const { changed, shards } = await setCampaignState(deps, id, "cancelled");
  await withMysql("issuing stopped but the cancellation is not yet recorded in MySQL; cancel again", () =>
    setCancelled(deps.db, id),
  );
  await finishCancel(deps, id, shards);
  return { changed, view: await readCampaignView(deps, id) };
}

/**
 * Voids the unissued codes of a cancelled campaign and frees its Redis keys, once every issued
 * owner is in MySQL. Returns false, having changed nothing, while some are still on the stream.
 * `shards`: the campaign's sub-pools (`finishSubPoolsCancel` for more than one).
 */
export async function finishCancel(deps: LifecycleDeps, id: number, shards = 1): Promise<boolean> {
  if (shards > 1) return finishSubPoolsCancel(deps, id, shards);
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

type SubPoolBooks = { state: string | null; issued: number; pending: number };

async function readSubPoolBooks(deps: LifecycleDeps, id: number, shards: number): Promise<SubPoolBooks[]> {
  return withRedis("cannot finish the cancellation", () =>
    Promise.all(
      // One MULTI per sub-pool: their keys are in different hash slots.
      deps.keys.subPools(id, shards).map(async (k) => {
        const [meta, pending] = (await execMulti(deps.bulkRedis.multi().hmget(k.meta, "state", "issued").xlen(k.stream))) as [
          Array<string | null>,
          number,
        ];
        return { state: meta[0] ?? null, issued: Number(meta[1] ?? 0), pending };
      }),
    ),
  );
}

/**
 * `finishCancel` for a campaign split into K sub-pools. Voiding covers the codes of every
 * sub-pool at once (MySQL knows no sub-pools: every code without an owner), so it waits until no
 * sub-pool can issue and every sub-pool's owners are in MySQL:
 *  - a sub-pool not yet cancelled (a cancellation that failed partway: the sweeper finds it by a
 *    sub-pool that is) is cancelled first: voiding while it still issues would void the codes it
 *    hands out next. A cancellation that reached one sub-pool is for good (set-state.ts), so this
 *    finishes what was asked; a sub-pool that cannot take it (lost, or loading) leaves it waiting;
 *  - every stream is empty and each sub-pool's owners in MySQL (by sequence, plus its quarantined
 *    codes) equal its `issued`.
 * Then the codes are voided and the sub-pools' keys released, all of them or, after a failure
 * partway, the rest on the next sweeper pass.
 */
async function finishSubPoolsCancel(deps: LifecycleDeps, id: number, shards: number): Promise<boolean> {
  let books = await readSubPoolBooks(deps, id, shards);
  if (books.some((b) => b.state === null)) return false;
  if (books.some((b) => b.state !== "cancelled")) {
    try {
      await setCampaignState(deps, id, "cancelled");
    } catch (err) {
      deps.logger.warn({ err, campaignId: id }, "cancelled campaign: a sub-pool cannot be cancelled yet; codes not voided");
      return false;
    }
    // Counts read again: a sub-pool that was still issuing may have issued meanwhile.
    books = await readSubPoolBooks(deps, id, shards);
  }
  if (books.some((b) => b.pending > 0)) return false;
  const row = await requireCampaign(deps.db, id);
  const owners = await withMysql("cannot finish the cancellation", () => countAccountedIssuesBySubPool(deps.db, id, shards));
  const unmatched = books.findIndex((b, sub) => owners[sub] !== b.issued);
  if (unmatched >= 0) {
    deps.logger.warn(
      { campaignId: id, subPool: unmatched, issued: books[unmatched]!.issued, owners: owners[unmatched] },
      "cancelled campaign: a sub-pool's owners in MySQL do not match Redis; codes not voided",
    );
    return false;
  }
  if (!row.cancelledAt) await setCancelled(deps.db, id);
  await withMysql("cannot void the unissued codes", () => voidUnissuedCodes(deps.db, id, row.totalCoupons));
  const outcome = await releaseSubPools(deps, id, owners);
  if (outcome.released) deps.logger.info({ campaignId: id, shards, voided: outcome.pooled }, "cancelled campaign's pools freed");
  return outcome.released;
}
