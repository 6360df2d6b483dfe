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
import {
  listPoolCodes,
  listSubPoolCodes,
  quarantineUnownedCodes,
  quarantineUnownedSubPoolCodes,
  readSubPoolBudgets,
  type CampaignRow,
  type SubPoolBound,
} from "./repository.js";
import { allowanceForLocal, localAllowance, subPoolOfPosition, subPoolSize } from "./sub-pools.js";

export type RebuildDeps = { db: Db; bulkRedis: ScriptedRedis; keys: RedisKeys; logger: Logger };

export type RebuildResult = {
  /** Codes pushed back into the pools: never issued, never voided, never quarantined. */
  reloaded: number;
  /** Codes that may have been issued but have no owner in MySQL: never issued again (the campaign's count). */
  quarantined: number;
  /**
   * The issue budget at the loss: no code of a rebuilt sub-pool past this pool position was ever
   * issued (for K = 1 the campaign's allowance; for K > 1 the highest of the rebuilt sub-pools'
   * own budgets, each a local position, times K).
   */
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
 * Each rebuilt sub-pool is bounded by its own issue budget (src/campaigns/issue-budget.ts): a
 * sub-pool that lagged behind a busy one keeps its codes past its own budget.
 *
 * Refuses while there is anything Redis still knows that MySQL does not: no sub-pool's meta is
 * gone (nothing was lost), or a lost sub-pool's stream holds unpersisted issues (wait for the
 * persister; see `streamsThatMustBeEmpty` for why the live ones' need not be empty). One
 * rebuild at a time (src/campaigns/rebuild-lock.ts), its preconditions checked again once it
 * holds the lock; the pools are filled under one fence of its own
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
  const lost = seen.flatMap((s, sub) => (s.lost ? [sub] : []));
  const waiting = streamsThatMustBeEmpty(row.shards, lost).filter((sub) => seen[sub]!.pending > 0);
  if (waiting.length > 0) throw unpersistedIssues(id, row.shards, waiting.reduce((sum, sub) => sum + seen[sub]!.pending, 0), waiting);
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
 * The sub-pools whose streams must hold no unpersisted issue before a rebuild: the lost ones (a
 * campaign of one pool: its one stream, checked before whether it was lost at all, as always).
 * An issue of a lost sub-pool that MySQL does not have would leave its code unowned within the
 * budget, so quarantined, and its holder without a record: a second code on their next call.
 *
 * The sub-pools that were not lost are not waited for: during a hot sale they never stop issuing,
 * so a rebuild that waited for their streams to be empty might wait until the sale ends (and a
 * check before the work would hold only for that instant anyway). Nothing the rebuild does
 * depends on their unpersisted issues: it quarantines and reloads only the lost sub-pools' codes,
 * and a live sub-pool never issues another sub-pool's code (each code lives in one sub-pool); it
 * restores the owners of the lost sub-pools' codes, which were only ever on the lost sub-pools'
 * streams. The one thing it reads of the live sub-pools' owners is walk records (an owner whose
 * walk passes a rebuilt sub-pool before their code's), which are defence in depth: such an owner
 * walked past a sub-pool that had issued all its codes, within its own budget, so the rebuild
 * refills it with nothing (src/campaigns/rebuild-owners.ts, `recordSubPools`); one missing
 * record, of an owner the persister has not written yet, therefore never gives a second code.
 */
function streamsThatMustBeEmpty(shards: number, lost: readonly number[]): readonly number[] {
  return shards === 1 ? [0] : lost;
}

/** Issues on the streams of `subs` that MySQL does not have yet (see `streamsThatMustBeEmpty`). */
function unpersistedIssues(id: number, shards: number, pending: number, subs: number[]) {
  const where = shards === 1 ? "its Redis stream" : `the Redis stream${subs.length > 1 ? "s" : ""} of lost sub-pool${subs.length > 1 ? "s" : ""} ${subs.join(", ")}`;
  return failedPrecondition(
    `campaign ${id} still has ${pending} issues on ${where} that are not in MySQL yet; wait for the persister to write them, then rebuild`,
  );
}

/**
 * The local budget each rebuilt sub-pool was held to at the loss: for K > 1 its own row in
 * `sub_pool_budgets` (src/campaigns/issue-budget.ts). Without one (a campaign budgeted before
 * that table existed) MySQL's one allowance A, a pool position, which let every sub-pool issue up
 * to local position ⌊A / K⌋ (src/campaigns/sub-pools.ts). A campaign from before issue budgets
 * existed (A = 0) may have issued any code: then the sub-pool's size, its whole pool.
 */
async function localBudgetsAtLoss(db: Db, row: CampaignRow, subs: readonly number[]): Promise<Map<number, number>> {
  const recorded = row.shards === 1 ? new Map<number, number>() : await readSubPoolBudgets(db, row.id);
  return new Map(
    subs.map((sub) => [
      sub,
      recorded.get(sub) ??
        (row.issueAllowance > 0 ? localAllowance(row.issueAllowance, row.shards) : subPoolSize(sub, row.shards, row.totalCoupons)),
    ]),
  );
}

async function refill(deps: RebuildDeps, row: CampaignRow, subs: number[], lock: RebuildLock): Promise<RebuildResult> {
  const id = row.id;
  const shards = row.shards;
  const rebuilt = new Map(subs.map((sub) => [sub, deps.keys.subPool(id, sub)]));
  const fence = await raiseFence(deps.db, id);
  const locals = await localBudgetsAtLoss(deps.db, row, subs);
  // Every code of sub-pool j at a pool position up to bound j may have been issued (for K = 1:
  // the allowance itself).
  const bounds: SubPoolBound[] = subs.map((sub) => ({ sub, upto: allowanceForLocal(locals.get(sub)!, shards) }));
  const allowance = Math.max(...bounds.map((b) => b.upto));
  await lock.assertHeld();
  const quarantined =
    shards === 1 ? await quarantineUnownedCodes(deps.db, id, allowance) : await quarantineUnownedSubPoolCodes(deps.db, id, shards, bounds);
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
        const issued = Math.min(size, locals.get(sub)!);
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
  const { reloaded, marks } = await reloadPools(deps, row, rebuilt, bounds, fence, lock);
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
    {
      campaignId: id,
      subPools: shards > 1 ? subs : undefined,
      localBudgets: shards > 1 ? Object.fromEntries(locals) : undefined,
      allowance,
      quarantined,
      reloaded,
      owners,
      walkRecords,
      fence,
    },
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
 * Pushes every code of the rebuilt sub-pools past its sub-pool's bound that is neither voided nor
 * quarantined, in pool order, each into its own sub-pool; marks are pool positions (the last
 * position pushed into that sub-pool).
 */
async function reloadPools(
  deps: RebuildDeps,
  row: CampaignRow,
  rebuilt: ReadonlyMap<number, CampaignKeys>,
  bounds: readonly SubPoolBound[],
  fence: number,
  lock: RebuildLock,
): Promise<{ reloaded: number; marks: Map<number, number> }> {
  const { id, shards } = row;
  const marks = new Map<number, number>();
  // From the lowest bound on; each sub-pool's own bound filters its codes (listSubPoolCodes).
  let after = Math.min(...bounds.map((b) => b.upto));
  let reloaded = 0;
  for (;;) {
    // With sub-pools, also never a code that has an owner: none past the budget can have one, but
    // if a broken budget ever let one through, it must not be handed out a second time.
    const rows = shards === 1 ? await listPoolCodes(deps.db, id, after, CHUNK) : await listSubPoolCodes(deps.db, id, after, shards, bounds, CHUNK);
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
