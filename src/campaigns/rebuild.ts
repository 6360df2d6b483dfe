import type { Logger } from "pino";
import { sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { withMysql, withRedis } from "../db/errors.js";
import { failedPrecondition } from "../errors.js";
import { PERSISTER_GROUP, subPoolMember, type CampaignKeys, type RedisKeys } from "../redis/keys.js";
import type { ScriptedRedis } from "../redis/scripts.js";
import { requireCampaign } from "./campaign-snapshot.js";
import { finishFill, pushCodes, startFill } from "./pool-fill.js";
import { RebuildLock } from "./rebuild-lock.js";
import { restoreOwners } from "./rebuild-owners.js";
import { listPoolCodes, listSubPoolCodes, quarantineUnownedCodes, quarantineUnownedSubPoolCodes, type CampaignRow } from "./repository.js";
import { allowanceForLocal, localAllowance, subPoolOfPosition, subPoolSize } from "./sub-pools.js";

export type RebuildDeps = { db: Db; bulkRedis: ScriptedRedis; keys: RedisKeys; logger: Logger };

export type RebuildResult = {
  /** Codes pushed back into the pools: never issued, never voided, never quarantined. */
  reloaded: number;
  /** Codes that may have been issued but have no owner in MySQL: never issued again (the campaign's count). */
  quarantined: number;
  /** The issue budget at the loss: no code past this pool position was ever issued. */
  allowance: number;
  /** Owner records restored into the idempotency hashes (each owner once, in their code's sub-pool). */
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
 * A campaign split into K sub-pools (src/campaigns/sub-pools.ts) may lose them one by one (one
 * Redis Cluster master lost its data) or all at once: exactly the sub-pools whose meta is gone,
 * or whose rebuild was interrupted, are rebuilt; the others keep issuing and are never touched,
 * not even their codes in MySQL (the quarantine takes only the rebuilt sub-pools' codes).
 *
 * Refuses while there is anything Redis still knows that MySQL does not: no sub-pool's meta is
 * gone (nothing was lost), or any sub-pool's stream holds unpersisted issues (wait for the
 * persister). One rebuild at a time (src/campaigns/rebuild-lock.ts), its preconditions checked
 * again once it holds the lock; the pools are filled under one fence of its own
 * (src/campaigns/pool-fill.ts), in state `loading` until the last step, so a rebuild that dies
 * halfway is simply run again.
 */
export async function rebuildCampaign(deps: RebuildDeps, id: number): Promise<RebuildResult> {
  await lostSubPools(deps, await requireCampaign(deps.db, id));
  const lock = await withMysql("cannot rebuild", () => RebuildLock.take(deps.db, id));
  try {
    // Another rebuild may have finished between the first check and the lock.
    const row = await requireCampaign(deps.db, id);
    const subs = await lostSubPools(deps, row);
    return await withMysql("cannot rebuild", () => refill(deps, row, subs, lock));
  } finally {
    await lock.release();
  }
}

/** The sub-pools to rebuild, in order; throws when the campaign cannot be rebuilt now. */
async function lostSubPools(deps: RebuildDeps, row: CampaignRow): Promise<number[]> {
  const id = row.id;
  if (row.status === "loading") {
    throw failedPrecondition(`campaign ${id} is still loading its pool; an interrupted load resumes by itself`);
  }
  const pools = deps.keys.subPools(id, row.shards);
  // Each sub-pool read by commands of its own: the sub-pools may live on different masters.
  const seen = await withRedis("cannot rebuild", () =>
    Promise.all(
      pools.map(async (k) => {
        const [meta, pending] = await Promise.all([deps.bulkRedis.hmget(k.meta, "state", "fill"), deps.bulkRedis.xlen(k.stream)]);
        const [state, fill] = meta as [string | null, string | null];
        // A rebuild that died halfway left its pool in `loading`: nothing was issued from it, so it is
        // simply done again.
        return { lost: state === null || (state === "loading" && fill === "rebuild"), pending };
      }),
    ),
  );
  const pending = seen.reduce((sum, s) => sum + s.pending, 0);
  if (pending > 0) throw unpersistedIssues(id, row.shards, pending, seen.flatMap((s, sub) => (s.pending > 0 ? [sub] : [])));
  const lost = seen.flatMap((s, sub) => (s.lost ? [sub] : []));
  if (lost.length === 0) {
    throw failedPrecondition(
      row.shards === 1
        ? `campaign ${id} still has its pool in Redis; there is nothing to rebuild`
        : `campaign ${id} still has all its ${row.shards} sub-pools in Redis; there is nothing to rebuild`,
    );
  }
  return lost;
}

/**
 * Issues on a stream that MySQL does not have yet, on any sub-pool, even one that is not lost:
 * the rebuild reads every named owner for its walk records (src/campaigns/rebuild-owners.ts).
 * For the lost sub-pools this is what keeps their owners from being quarantined; sub-pools that
 * were not lost go on issuing after the check, so for them it is a best effort, which is enough:
 * their owners matter to the rebuild only as walk records, which cannot be needed (see there).
 */
function unpersistedIssues(id: number, shards: number, pending: number, subs: number[]) {
  const where = shards === 1 ? "its Redis stream" : `the Redis stream${subs.length > 1 ? "s" : ""} of sub-pool${subs.length > 1 ? "s" : ""} ${subs.join(", ")}`;
  return failedPrecondition(
    `campaign ${id} still has ${pending} issues on ${where} that are not in MySQL yet; wait for the persister to write them, then rebuild`,
  );
}

/**
 * The local budget every sub-pool was held to at the loss (src/campaigns/sub-pools.ts): MySQL's
 * one allowance A, a pool position, lets each sub-pool issue up to local position ⌊A / K⌋. A
 * campaign from before issue budgets existed (A = 0) may have issued any code: then the largest
 * sub-pool's size, its whole pool.
 */
function localBudgetAtLoss(row: CampaignRow): number {
  return row.issueAllowance > 0 ? localAllowance(row.issueAllowance, row.shards) : subPoolSize(0, row.shards, row.totalCoupons);
}

async function refill(deps: RebuildDeps, row: CampaignRow, subs: number[], lock: RebuildLock): Promise<RebuildResult> {
  const id = row.id;
  const shards = row.shards;
  const rebuilt = new Map(subs.map((sub) => [sub, deps.keys.subPool(id, sub)]));
  const fence = await raiseFence(deps.db, id);
  const local = localBudgetAtLoss(row);
  // Every code at a position up to this one may have been issued (for K = 1: the allowance itself).
  const allowance = allowanceForLocal(local, shards);
  await lock.assertHeld();
  const quarantined =
    subs.length === shards
      ? await quarantineUnownedCodes(deps.db, id, allowance)
      : await quarantineUnownedSubPoolCodes(deps.db, id, allowance, shards, subs);
  await lock.assertHeld();
  // Until the fill ends, IssueCoupon answers that the pool is loading. A sub-pool's issued count
  // resumes at its budget, so its next sequence, (issued)·K + j + 1, is past every sequence it
  // gave before the loss (each within that budget): sequences never collide, and the persister
  // raises no integrity alarm (src/persist/write-issues.ts); codes never repeat either, since
  // only codes past the budget go back into the pool.
  await withRedis("cannot rebuild", () =>
    Promise.all(
      [...rebuilt].map(([sub, k]) => {
        const size = subPoolSize(sub, shards, row.totalCoupons);
        const issued = Math.min(size, local);
        return startFill(deps.bulkRedis, k.meta, [k.pool, k.users], "rebuild", fence, {
          start_ms: row.startTime.getTime(),
          ...(row.endTime ? { end_ms: row.endTime.getTime() } : {}),
          total: size,
          issued,
          allow: issued,
          ...(shards > 1 ? { shards, sub } : {}),
        });
      }),
    ),
  );
  const { reloaded, marks } = await reloadPools(deps, row, rebuilt, allowance, fence, lock);
  const { owners, walkRecords } = await restoreOwners(deps, id, shards, rebuilt, lock);
  await lock.assertHeld();
  const state = row.cancelledAt ? "cancelled" : row.pausedAt ? "paused" : "ready";
  const rebuiltMs = Date.now();
  await withRedis("cannot rebuild", () =>
    Promise.all(
      [...rebuilt].map(async ([sub, k]) => {
        try {
          await deps.bulkRedis.xgroup("CREATE", k.stream, PERSISTER_GROUP, "0", "MKSTREAM");
        } catch (err) {
          if (!String((err as Error).message).includes("BUSYGROUP")) throw err;
        }
        await deps.bulkRedis.sadd(deps.keys.activeCampaigns, subPoolMember(id, sub));
        await finishFill(deps.bulkRedis, k.meta, "rebuild", fence, marks.get(sub) ?? 0, { state, rebuilt_ms: rebuiltMs });
      }),
    ),
  );
  deps.logger.warn(
    { campaignId: id, subPools: shards > 1 ? subs : undefined, allowance, quarantined, reloaded, owners, walkRecords, fence },
    "campaign rebuilt from MySQL",
  );
  return { reloaded, quarantined, allowance, owners };
}

/** This rebuild's fill fence: one above every earlier load's and rebuild's. */
async function raiseFence(db: Db, id: number): Promise<number> {
  await db.execute(sql`UPDATE campaigns SET load_fence = load_fence + 1 WHERE id = ${id}`);
  const [rows] = (await db.execute(sql`SELECT load_fence AS fence FROM campaigns WHERE id = ${id}`)) as unknown as [Array<{ fence: number }>];
  return Number(rows[0]!.fence);
}

/**
 * Pushes every code of the rebuilt sub-pools past the allowance that is neither voided nor
 * quarantined, in pool order, each into its own sub-pool; marks are pool positions (the last
 * position pushed into that sub-pool).
 */
async function reloadPools(
  deps: RebuildDeps,
  row: CampaignRow,
  rebuilt: ReadonlyMap<number, CampaignKeys>,
  allowance: number,
  fence: number,
  lock: RebuildLock,
): Promise<{ reloaded: number; marks: Map<number, number> }> {
  const { id, shards } = row;
  const subs = [...rebuilt.keys()];
  const marks = new Map<number, number>();
  let after = allowance;
  let reloaded = 0;
  for (;;) {
    // With sub-pools, also never a code that has an owner: none past the budget can have one, but
    // if a broken budget ever let one through, it must not be handed out a second time.
    const rows = shards === 1 ? await listPoolCodes(deps.db, id, after, CHUNK) : await listSubPoolCodes(deps.db, id, after, shards, subs, CHUNK);
    if (rows.length === 0) return { reloaded, marks };
    const shares = new Map<number, Array<{ seq: number; code: string }>>();
    for (const r of rows) {
      const sub = subPoolOfPosition(r.seq, shards);
      let share = shares.get(sub);
      if (share === undefined) shares.set(sub, (share = []));
      share.push(r);
    }
    await lock.assertHeld();
    // The sub-pools side by side (they may live on different masters), each share in order.
    await withRedis("cannot rebuild", () =>
      Promise.all(
        [...shares].map(async ([sub, share]) => {
          const upto = share[share.length - 1]!.seq;
          await pushCodes(deps.bulkRedis, rebuilt.get(sub)!, fence, marks.get(sub) ?? 0, upto, share.map((r) => r.code));
          marks.set(sub, upto);
        }),
      ),
    );
    reloaded += rows.length;
    after = rows[rows.length - 1]!.seq;
  }
}
