import type { Logger } from "pino";
import { sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { withMysql, withRedis } from "../db/errors.js";
import { failedPrecondition } from "../errors.js";
import { PERSISTER_GROUP, type RedisKeys } from "../redis/keys.js";
import type { ScriptedRedis } from "../redis/scripts.js";
import { requireCampaign } from "./campaign-snapshot.js";
import { finishFill, pushCodes, startFill } from "./pool-fill.js";
import { RebuildLock } from "./rebuild-lock.js";
import { listOwners, listPoolCodes, quarantineUnownedCodes, type CampaignRow } from "./repository.js";

export type RebuildDeps = { db: Db; bulkRedis: ScriptedRedis; keys: RedisKeys; logger: Logger };

export type RebuildResult = {
  /** Codes pushed back into the pool: never issued, never voided, never quarantined. */
  reloaded: number;
  /** Codes that may have been issued but have no owner in MySQL: never issued again. */
  quarantined: number;
  /** The issue budget at the loss: no code past this pool position was ever issued. */
  allowance: number;
  /** Owner records restored into the idempotency hash. */
  owners: number;
};

const CHUNK = 5000;

/**
 * Rebuilds a campaign's Redis state from MySQL after Redis lost it (flushed, or restarted with
 * nothing on disk). MySQL knows the issue budget in force (src/campaigns/issue-budget.ts): no
 * code past that pool position was ever handed out. Codes up to it without an owner record are
 * quarantined; the rest go back into the pool, and issuing resumes at the next position, so a
 * code issued before the loss is never issued again.
 *
 * Refuses while there is anything Redis still knows that MySQL does not: the campaign's meta
 * (nothing was lost) or unpersisted issues on its stream (wait for the persister). One rebuild
 * at a time (src/campaigns/rebuild-lock.ts), its preconditions checked again once it holds the
 * lock; the pool is filled under a fence of its own (src/campaigns/pool-fill.ts), in state
 * `loading` until the last step, so a rebuild that dies halfway is simply run again.
 */
export async function rebuildCampaign(deps: RebuildDeps, id: number): Promise<RebuildResult> {
  await checkRebuildable(deps, await requireCampaign(deps.db, id));
  const lock = await withMysql("cannot rebuild", () => RebuildLock.take(deps.db, id));
  try {
    // Another rebuild may have finished between the first check and the lock.
    const row = await requireCampaign(deps.db, id);
    await checkRebuildable(deps, row);
    return await withMysql("cannot rebuild", () => refill(deps, row, lock));
  } finally {
    await lock.release();
  }
}

async function checkRebuildable(deps: RebuildDeps, row: CampaignRow): Promise<void> {
  const id = row.id;
  if (row.status === "loading") {
    throw failedPrecondition(`campaign ${id} is still loading its pool; an interrupted load resumes by itself`);
  }
  const k = deps.keys.campaign(id);
  const [meta, pending] = await withRedis("cannot rebuild", async () => [
    await deps.bulkRedis.hmget(k.meta, "state", "fill"),
    await deps.bulkRedis.xlen(k.stream),
  ]);
  if (pending > 0) {
    throw failedPrecondition(
      `campaign ${id} still has ${pending} issues on its Redis stream that are not in MySQL yet; wait for the persister to write them, then rebuild`,
    );
  }
  const [state, fill] = meta as [string | null, string | null];
  // A rebuild that died halfway left its pool in `loading`: nothing was issued from it, so it is
  // simply done again.
  const interruptedRebuild = state === "loading" && fill === "rebuild";
  if (state !== null && !interruptedRebuild) {
    throw failedPrecondition(`campaign ${id} still has its pool in Redis; there is nothing to rebuild`);
  }
}

async function refill(deps: RebuildDeps, row: CampaignRow, lock: RebuildLock): Promise<RebuildResult> {
  const id = row.id;
  const k = deps.keys.campaign(id);
  const fence = await raiseFence(deps.db, id);
  // A campaign from before issue budgets existed: any unowned code may have been issued.
  const allowance = row.issueAllowance > 0 ? row.issueAllowance : row.totalCoupons;
  await lock.assertHeld();
  const quarantined = await quarantineUnownedCodes(deps.db, id, allowance);
  await lock.assertHeld();
  // Until the fill ends, IssueCoupon answers that the pool is loading.
  await withRedis("cannot rebuild", () =>
    startFill(deps.bulkRedis, k.meta, [k.pool, k.users], "rebuild", fence, {
      start_ms: row.startTime.getTime(),
      ...(row.endTime ? { end_ms: row.endTime.getTime() } : {}),
      total: row.totalCoupons,
      issued: allowance,
      allow: allowance,
    }),
  );
  const { reloaded, mark } = await reloadPool(deps, id, allowance, fence, lock);
  const owners = await restoreOwners(deps, id, lock);
  await lock.assertHeld();
  await withRedis("cannot rebuild", async () => {
    try {
      await deps.bulkRedis.xgroup("CREATE", k.stream, PERSISTER_GROUP, "0", "MKSTREAM");
    } catch (err) {
      if (!String((err as Error).message).includes("BUSYGROUP")) throw err;
    }
    await deps.bulkRedis.sadd(deps.keys.activeCampaigns, String(id));
    await finishFill(deps.bulkRedis, k.meta, "rebuild", fence, mark, {
      state: row.cancelledAt ? "cancelled" : row.pausedAt ? "paused" : "ready",
      rebuilt_ms: Date.now(),
    });
  });
  deps.logger.warn({ campaignId: id, allowance, quarantined, reloaded, owners, fence }, "campaign rebuilt from MySQL");
  return { reloaded, quarantined, allowance, owners };
}

/** This rebuild's fill fence: one above every earlier load's and rebuild's. */
async function raiseFence(db: Db, id: number): Promise<number> {
  await db.execute(sql`UPDATE campaigns SET load_fence = load_fence + 1 WHERE id = ${id}`);
  const [rows] = (await db.execute(sql`SELECT load_fence AS fence FROM campaigns WHERE id = ${id}`)) as unknown as [Array<{ fence: number }>];
  return Number(rows[0]!.fence);
}

/** Pushes every code past the allowance that is neither voided nor quarantined; marks are pool positions. */
async function reloadPool(
  deps: RebuildDeps,
  id: number,
  allowance: number,
  fence: number,
  lock: RebuildLock,
): Promise<{ reloaded: number; mark: number }> {
  const target = deps.keys.campaign(id);
  let after = allowance;
  let mark = 0;
  let reloaded = 0;
  for (;;) {
    const rows = await listPoolCodes(deps.db, id, after, CHUNK);
    if (rows.length === 0) return { reloaded, mark };
    const upto = rows[rows.length - 1]!.seq;
    await lock.assertHeld();
    await withRedis("cannot rebuild", () => pushCodes(deps.bulkRedis, target, fence, mark, upto, rows.map((r) => r.code)));
    reloaded += rows.length;
    after = mark = upto;
  }
}

/** Owners back into the idempotency hash (HSET of the same records: a retry changes nothing). */
async function restoreOwners(deps: RebuildDeps, id: number, lock: RebuildLock): Promise<number> {
  const users = deps.keys.campaign(id).users;
  let after = 0;
  let restored = 0;
  for (;;) {
    const rows = await listOwners(deps.db, id, after, CHUNK);
    if (rows.length === 0) return restored;
    const fields = rows.flatMap((r) => [r.userId, `${r.code}|${r.sequence}`]);
    await lock.assertHeld();
    await withRedis("cannot rebuild", () => deps.bulkRedis.hset(users, ...fields));
    restored += rows.length;
    after = rows[rows.length - 1]!.sequence;
  }
}
