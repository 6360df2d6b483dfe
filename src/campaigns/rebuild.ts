import type { Logger } from "pino";
import type { Db } from "../db/client.js";
import { withMysql, withRedis } from "../db/errors.js";
import { failedPrecondition } from "../errors.js";
import type { RedisClient } from "../redis/client.js";
import { PERSISTER_GROUP, type RedisKeys } from "../redis/keys.js";
import { requireCampaign } from "./campaign-snapshot.js";
import { listOwners, listPoolCodes, quarantineUnownedCodes } from "./repository.js";

export type RebuildDeps = { db: Db; bulkRedis: RedisClient; keys: RedisKeys; logger: Logger };

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
 * (nothing was lost) or unpersisted issues on its stream (wait for the persister).
 */
export async function rebuildCampaign(deps: RebuildDeps, id: number): Promise<RebuildResult> {
  const row = await requireCampaign(deps.db, id);
  if (row.status === "loading") {
    throw failedPrecondition(`campaign ${id} is still loading its pool; an interrupted load resumes by itself`);
  }
  const k = deps.keys.campaign(id);
  const [metaExists, pending] = await withRedis("cannot rebuild", async () => [
    await deps.bulkRedis.exists(k.meta),
    await deps.bulkRedis.xlen(k.stream),
  ]);
  if (pending > 0) {
    throw failedPrecondition(
      `campaign ${id} still has ${pending} issues on its Redis stream that are not in MySQL yet; wait for the persister to write them, then rebuild`,
    );
  }
  if (metaExists === 1) throw failedPrecondition(`campaign ${id} still has its pool in Redis; there is nothing to rebuild`);

  return withMysql("cannot rebuild", async () => {
    const lock = `coupons_rebuild_${id}`;
    const [got] = (await deps.db.$client.query("SELECT GET_LOCK(?, 0) AS got", [lock])) as unknown as [Array<{ got: number }>];
    if (got[0]?.got !== 1) throw failedPrecondition(`another rebuild of campaign ${id} is running`);
    try {
      // A campaign from before issue budgets existed: any unowned code may have been issued.
      const allowance = row.issueAllowance > 0 ? row.issueAllowance : row.totalCoupons;
      const quarantined = await quarantineUnownedCodes(deps.db, id, allowance);
      const reloaded = await reloadPool(deps, id, allowance, k.pool);
      const owners = await restoreOwners(deps, id, k.users);
      await withRedis("cannot rebuild", async () => {
        try {
          await deps.bulkRedis.xgroup("CREATE", k.stream, PERSISTER_GROUP, "0", "MKSTREAM");
        } catch (err) {
          if (!String((err as Error).message).includes("BUSYGROUP")) throw err;
        }
        await deps.bulkRedis.sadd(deps.keys.activeCampaigns, String(id));
        // Last: until the meta hash exists, IssueCoupon answers that the pool is missing.
        await deps.bulkRedis.hset(k.meta, {
          state: row.cancelledAt ? "cancelled" : row.pausedAt ? "paused" : "ready",
          start_ms: row.startTime.getTime(),
          ...(row.endTime ? { end_ms: row.endTime.getTime() } : {}),
          total: row.totalCoupons,
          issued: allowance,
          allow: allowance,
          rebuilt_ms: Date.now(),
        });
      });
      deps.logger.warn({ campaignId: id, allowance, quarantined, reloaded, owners }, "campaign rebuilt from MySQL");
      return { reloaded, quarantined, allowance, owners };
    } finally {
      await deps.db.$client.query("SELECT RELEASE_LOCK(?)", [lock]);
    }
  });
}

async function reloadPool(deps: RebuildDeps, id: number, allowance: number, pool: string): Promise<number> {
  await withRedis("cannot rebuild", () => deps.bulkRedis.del(pool));
  let after = allowance;
  let reloaded = 0;
  for (;;) {
    const rows = await listPoolCodes(deps.db, id, after, CHUNK);
    if (rows.length === 0) return reloaded;
    await withRedis("cannot rebuild", () => deps.bulkRedis.rpush(pool, ...rows.map((r) => r.code)));
    reloaded += rows.length;
    after = rows[rows.length - 1]!.seq;
  }
}

async function restoreOwners(deps: RebuildDeps, id: number, users: string): Promise<number> {
  await withRedis("cannot rebuild", () => deps.bulkRedis.del(users));
  let after = 0;
  let restored = 0;
  for (;;) {
    const rows = await listOwners(deps.db, id, after, CHUNK);
    if (rows.length === 0) return restored;
    const fields = rows.flatMap((r) => [r.userId, `${r.code}|${r.sequence}`]);
    await withRedis("cannot rebuild", () => deps.bulkRedis.hset(users, ...fields));
    restored += rows.length;
    after = rows[rows.length - 1]!.sequence;
  }
}
