import { randomBytes } from "node:crypto";
import { and, asc, count, eq, gt, isNotNull, isNull, lte, sql, type SQL } from "drizzle-orm";
import type { ResultSetHeader } from "mysql2";
import type { Db } from "../db/client.js";
import { retryOnDeadlock } from "../db/deadlock.js";
import { loadRows, loadRowsOrInsert } from "../db/load-data.js";
import { campaignRedemptions, campaigns, couponIssues, coupons } from "../db/schema.js";

/** MySQL access for campaigns and their codes. Every query of the campaigns module lives here. */

export type CampaignRow = typeof campaigns.$inferSelect;
export type IssueRow = { sequence: number; code: string; userId: string | null; issuedAt: Date };

/** Reads the permutation secret, creating it (once, ever) on first start. */
export async function loadCodeSecret(db: Db): Promise<Buffer> {
  // Raw SQL: drizzle's varbinary column type is a string, and the secret must stay bytes.
  await db.execute(sql`INSERT IGNORE INTO code_allocator (id, secret, next_counter) VALUES (1, ${randomBytes(32)}, 0)`);
  const [rows] = (await db.execute(sql`SELECT secret FROM code_allocator WHERE id = 1`)) as unknown as [
    Array<{ secret: unknown }>,
  ];
  const secret = rows[0]?.secret;
  if (!Buffer.isBuffer(secret) || secret.length < 16) throw new Error("code_allocator.secret is missing or short");
  return secret;
}

/**
 * Creates the campaign row and reserves its counter range in one transaction. `LAST_INSERT_ID(x)`
 * makes the read of the new counter atomic with its increment.
 */
export async function insertCampaign(
  db: Db,
  c: { name: string; startTime: Date; endTime: Date | null; totalCoupons: number; shards: number },
  loadToken: string,
): Promise<CampaignRow> {
  return db.transaction(async (tx) => {
    await tx.execute(
      sql`UPDATE code_allocator SET next_counter = LAST_INSERT_ID(next_counter + ${c.totalCoupons}) WHERE id = 1`,
    );
    const [rows] = (await tx.execute(sql`SELECT LAST_INSERT_ID() AS next`)) as unknown as [Array<{ next: string | number }>];
    const codeOffset = Number(rows[0]!.next) - c.totalCoupons;
    // The creating instance holds the load lease, under fill fence 1, from the first instant
    // (src/campaigns/load-lease.ts).
    const [res] = await tx
      .insert(campaigns)
      .values({ ...c, codeOffset, status: "loading", loaded: 0, loadOwner: loadToken, loadHeartbeat: sql`NOW(3)`, loadFence: 1 });
    const id = Number((res as ResultSetHeader).insertId);
    // Its redeemed count exists from the start, so a redemption only ever updates it.
    await tx.insert(campaignRedemptions).values({ campaignId: id, redeemed: 0 });
    return {
      id,
      ...c,
      codeOffset,
      status: "loading",
      loaded: 0,
      createdAt: new Date(),
      pausedAt: null,
      cancelledAt: null,
      voided: 0,
      loadOwner: loadToken,
      loadHeartbeat: new Date(),
      loadFence: 1,
      issueAllowance: 0,
      quarantined: 0,
    };
  });
}

export async function findCampaign(db: Db, id: number): Promise<CampaignRow | undefined> {
  const rows = await db.select().from(campaigns).where(eq(campaigns.id, id)).limit(1);
  return rows[0];
}

/**
 * Stores codes `firstSeq …` of a campaign. Idempotent: a campaign's codes follow from its counter
 * range, so a batch written again (a retry, or a loader that took over a dead one's load) is the
 * same rows, and `IGNORE` skips those already there. When some rows were skipped, a count proves
 * every position of the batch is present, so an ignored row can never hide a code that collided
 * with another campaign's; a batch stored whole (every load but a resumed one) needs no count.
 *
 * The rows go as one LOAD DATA LOCAL (../db/load-data.ts); a server that refuses it gets one
 * multi-row INSERT IGNORE per batch instead, the same rows with the same guarantees.
 */
export async function insertCodes(db: Db, campaignId: number, firstSeq: number, codes: readonly string[]) {
  // Concurrent batches of one load touch disjoint keys, but a resumed load's duplicate checks
  // take shared locks: InnoDB may then pick a statement as deadlock victim; it is simply re-run.
  const stored = await loadRowsOrInsert(
    db.$client,
    () => retryOnDeadlock(() => loadCodes(db, campaignId, firstSeq, codes)),
    () => retryOnDeadlock(() => insertCodeRows(db, campaignId, firstSeq, codes)),
  );
  if (stored === codes.length) return;
  const lastSeq = firstSeq + codes.length - 1;
  const [found] = await db
    .select({ n: count() })
    .from(coupons)
    .where(and(eq(coupons.campaignId, campaignId), sql`${coupons.seq} BETWEEN ${firstSeq} AND ${lastSeq}`));
  if (found!.n !== codes.length) {
    throw new Error(`codes ${firstSeq}..${lastSeq} of campaign ${campaignId}: ${codes.length - found!.n} collided with existing codes`);
  }
}

/**
 * LOAD DATA of the batch's rows; rows stored. Codes are Hangul syllables and digits
 * (src/codes/code-format.ts), never a tab, newline or backslash, so nothing is escaped.
 * 2,000 rows make a piece of ~64 KB.
 */
function loadCodes(db: Db, campaignId: number, firstSeq: number, codes: readonly string[]): Promise<number> {
  const ROWS_PER_PIECE = 2000;
  function* pieces() {
    for (let at = 0; at < codes.length; at += ROWS_PER_PIECE) {
      let text = "";
      const end = Math.min(at + ROWS_PER_PIECE, codes.length);
      for (let i = at; i < end; i++) text += `${campaignId}\t${firstSeq + i}\t${codes[i]}\n`;
      yield Buffer.from(text, "utf8");
    }
  }
  return loadRows(db.$client, "coupons CHARACTER SET utf8mb4 (campaign_id, seq, code)", pieces());
}

/** One multi-row INSERT IGNORE through mysql2's client-side `VALUES ?` expansion (drizzle's
 * builder binds every value as a parameter, ~8x slower for thousands of rows); rows stored. */
async function insertCodeRows(db: Db, campaignId: number, firstSeq: number, codes: readonly string[]): Promise<number> {
  const rows = codes.map((code, i) => [campaignId, firstSeq + i, code]);
  const [res] = (await db.$client.query("INSERT IGNORE INTO coupons (campaign_id, seq, code) VALUES ?", [rows])) as unknown as [ResultSetHeader];
  return res.affectedRows;
}

/** Issued codes with `sequence > afterSequence`, in issue order. */
export async function listIssues(db: Db, campaignId: number, afterSequence: number, limit?: number): Promise<IssueRow[]> {
  const q = db
    .select({
      sequence: couponIssues.sequence,
      code: couponIssues.code,
      userId: couponIssues.userId,
      issuedAt: couponIssues.issuedAt,
    })
    .from(couponIssues)
    .where(and(eq(couponIssues.campaignId, campaignId), gt(couponIssues.sequence, afterSequence)))
    .orderBy(asc(couponIssues.sequence));
  return limit === undefined ? q : q.limit(limit);
}

/** Owners written so far; with `maxSequence`, only those of the first `maxSequence` issues. */
export async function countIssues(db: Db, campaignId: number, maxSequence?: number): Promise<number> {
  const where =
    maxSequence === undefined
      ? eq(couponIssues.campaignId, campaignId)
      : and(eq(couponIssues.campaignId, campaignId), lte(couponIssues.sequence, maxSequence));
  const rows = await db.select({ n: count() }).from(couponIssues).where(where);
  return rows[0]?.n ?? 0;
}

// ---- Lifecycle: the MySQL copy of pause and cancel, voiding, redemption, verification.

/** Mirrors PauseCampaign / ResumeCampaign; Redis's meta hash is what issuing obeys. */
export async function setPaused(db: Db, campaignId: number, paused: boolean): Promise<void> {
  await db
    .update(campaigns)
    .set({ pausedAt: paused ? sql`COALESCE(${campaigns.pausedAt}, NOW(3))` : null })
    .where(eq(campaigns.id, campaignId));
}

/** Records the cancellation once; a repeated call keeps the first instant. */
export async function setCancelled(db: Db, campaignId: number): Promise<void> {
  await db
    .update(campaigns)
    .set({ cancelledAt: sql`COALESCE(${campaigns.cancelledAt}, NOW(3))`, pausedAt: null })
    .where(eq(campaigns.id, campaignId));
}

/** Codes per voiding statement: bounds each transaction's row locks and undo log. */
const VOID_CHUNK = 20_000;

/**
 * Voids every code of the campaign that has no owner in `coupon_issues` and is not quarantined
 * (a quarantined code counts as issued already: voiding it too would count it twice), chunk by
 * chunk over the primary key, then stores the campaign's voided count. Idempotent. Only correct
 * once every issued owner is in MySQL: a code issued but not yet persisted would be voided too.
 */
export async function voidUnissuedCodes(db: Db, campaignId: number, totalCoupons: number): Promise<number> {
  for (let first = 1; first <= totalCoupons; first += VOID_CHUNK) {
    await db.$client.query(
      `UPDATE coupons c LEFT JOIN coupon_issues i ON i.code = c.code
          SET c.voided_at = NOW(3)
        WHERE c.campaign_id = ? AND c.seq BETWEEN ? AND ? AND c.voided_at IS NULL AND c.quarantined_at IS NULL
          AND i.code IS NULL`,
      [campaignId, first, first + VOID_CHUNK - 1],
    );
  }
  const voided = await countVoided(db, campaignId);
  await db.update(campaigns).set({ voided }).where(eq(campaigns.id, campaignId));
  return voided;
}

export async function countVoided(db: Db, campaignId: number): Promise<number> {
  const rows = await db
    .select({ n: count() })
    .from(coupons)
    .where(and(eq(coupons.campaignId, campaignId), isNotNull(coupons.voidedAt)));
  return rows[0]?.n ?? 0;
}

/** Codes of the campaign redeemed so far: its counter, kept by `redeemIssuedCode`. */
export async function countRedeemed(db: Db, campaignId: number): Promise<number> {
  const rows = await db
    .select({ n: campaignRedemptions.redeemed })
    .from(campaignRedemptions)
    .where(eq(campaignRedemptions.campaignId, campaignId));
  return rows[0]?.n ?? 0;
}

/** A generated code and its campaign, whether or not it was issued. */
export async function findCode(db: Db, code: string): Promise<{ campaignId: number; seq: number } | undefined> {
  const rows = await db
    .select({ campaignId: coupons.campaignId, seq: coupons.seq })
    .from(coupons)
    .where(eq(coupons.code, code))
    .limit(1);
  return rows[0];
}

export type IssuedCodeRow = {
  campaignId: number;
  sequence: number;
  userId: string | null;
  redeemedAt: Date | null;
  redeemedBy: string | null;
  cancelledAt: Date | null;
};

/** The owner record of an issued code with its campaign's cancellation, or undefined. */
export async function findIssuedCode(db: Db, code: string): Promise<IssuedCodeRow | undefined> {
  const rows = await db
    .select({
      campaignId: couponIssues.campaignId,
      sequence: couponIssues.sequence,
      userId: couponIssues.userId,
      redeemedAt: couponIssues.redeemedAt,
      redeemedBy: couponIssues.redeemedBy,
      cancelledAt: campaigns.cancelledAt,
    })
    .from(couponIssues)
    .innerJoin(campaigns, eq(campaigns.id, couponIssues.campaignId))
    .where(eq(couponIssues.code, code))
    .limit(1);
  return rows[0];
}

/**
 * The redemption itself: one conditional UPDATE. InnoDB locks the row, so of concurrent calls
 * exactly one sees `redeemed_at IS NULL` and changes it; the others change nothing. The owner
 * condition is part of the statement so a check-then-act gap cannot let a stranger in. The
 * campaign's redeemed count rises in the same transaction, so it never disagrees with the owner
 * records. Returns true when this call redeemed the code.
 */
export async function redeemIssuedCode(db: Db, campaignId: number, code: string, userId: string, at: Date): Promise<boolean> {
  return retryOnDeadlock(() =>
    db.transaction(async (tx) => {
      const [res] = await tx
        .update(couponIssues)
        .set({ redeemedAt: at, redeemedBy: userId === "" ? null : userId })
        .where(
          and(
            eq(couponIssues.code, code),
            isNull(couponIssues.redeemedAt),
            sql`(${couponIssues.userId} IS NULL OR ${couponIssues.userId} = ${userId})`,
          ),
        );
      if ((res as ResultSetHeader).affectedRows !== 1) return false;
      // The row exists from the campaign's creation (or migration 0009); the upsert covers a
      // campaign an older build created while this one was being rolled out.
      await tx
        .insert(campaignRedemptions)
        .values({ campaignId, redeemed: 1 })
        .onDuplicateKeyUpdate({ set: { redeemed: sql`${campaignRedemptions.redeemed} + 1` } });
      return true;
    }),
  );
}

/** Owner records of the first `maxSequence` issues, leaving out the sequences in `except`. */
export async function countIssuesExcept(
  db: Db,
  campaignId: number,
  maxSequence: number,
  except: readonly number[],
): Promise<number> {
  const [rows] = await db.$client.query(
    `SELECT COUNT(*) AS n FROM coupon_issues WHERE campaign_id = ? AND sequence <= ?${except.length ? " AND sequence NOT IN (?)" : ""}`,
    except.length ? [campaignId, maxSequence, except] : [campaignId, maxSequence],
  );
  return Number((rows as Array<{ n: number | string }>)[0]!.n);
}

/** What verification reads from MySQL about one campaign's codes and owners. */
export type CampaignBooks = {
  generated: number;
  persisted: number;
  redeemed: number;
  /** The campaign's redeemed count as GetCampaign reports it (`campaign_redemptions`), read in the same statement. */
  redeemedCount: number;
  voided: number;
  /** Owner records whose code is not one of this campaign's generated codes. */
  foreignCodes: number;
  /** Owner records whose code is voided: issued and voided at once. */
  voidedButIssued: number;
  /** Codes with more than one owner record (the unique index should make this 0). */
  codesWithTwoOwners: number;
};

export async function readCampaignBooks(db: Db, campaignId: number): Promise<CampaignBooks> {
  const [rows] = await db.$client.query(
    `SELECT
       (SELECT COUNT(*) FROM coupons WHERE campaign_id = ?) AS generated,
       (SELECT COUNT(*) FROM coupons WHERE campaign_id = ? AND voided_at IS NOT NULL) AS voided,
       (SELECT COUNT(*) FROM coupon_issues WHERE campaign_id = ?) AS persisted,
       (SELECT COUNT(*) FROM coupon_issues WHERE campaign_id = ? AND redeemed_at IS NOT NULL) AS redeemed,
       (SELECT COALESCE(MAX(redeemed), 0) FROM campaign_redemptions WHERE campaign_id = ?) AS redeemedCount,
       (SELECT COUNT(*) FROM coupon_issues i LEFT JOIN coupons c ON c.code = i.code AND c.campaign_id = i.campaign_id
          WHERE i.campaign_id = ? AND c.code IS NULL) AS foreignCodes,
       (SELECT COUNT(*) FROM coupon_issues i JOIN coupons c ON c.code = i.code
          WHERE i.campaign_id = ? AND c.voided_at IS NOT NULL) AS voidedButIssued,
       (SELECT COUNT(*) FROM (SELECT code FROM coupon_issues WHERE campaign_id = ?
          GROUP BY code HAVING COUNT(DISTINCT COALESCE(user_id, '')) > 1 OR COUNT(*) > 1) d) AS codesWithTwoOwners`,
    Array(8).fill(campaignId),
  );
  const r = (rows as Array<Record<keyof CampaignBooks, number | string>>)[0]!;
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v)])) as CampaignBooks;
}

/**
 * Owner records that share a sequence (in this campaign) or a code (in any campaign) with the
 * given issues: what verification compares the stream's entries against.
 */
export async function findIssuesOverlapping(
  db: Db,
  campaignId: number,
  issues: ReadonlyArray<{ sequence: number; code: string }>,
): Promise<Array<IssueRow & { campaignId: number }>> {
  const out: Array<IssueRow & { campaignId: number }> = [];
  for (let i = 0; i < issues.length; i += 1000) {
    const part = issues.slice(i, i + 1000);
    const [rows] = await db.$client.query(
      `SELECT campaign_id AS campaignId, sequence, code, user_id AS userId, issued_at AS issuedAt FROM coupon_issues
        WHERE (campaign_id = ? AND sequence IN (?)) OR code IN (?)`,
      [campaignId, part.map((e) => e.sequence), part.map((e) => e.code)],
    );
    for (const r of rows as Array<IssueRow & { campaignId: number | string }>) out.push({ ...r, campaignId: Number(r.campaignId) });
  }
  return out;
}

/**
 * Marks as quarantined every code up to pool position `allowance` that has no owner record:
 * it may have been handed out before Redis was lost, so it must never be issued again.
 * Returns how many codes of the campaign are quarantined in all.
 *
 * Owners and quarantined codes stay disjoint: the transaction first locks the campaign row
 * exclusively, which waits for every persister batch in flight (each holds it shared until its
 * commit, src/persist/write-issues.ts), and an owner is looked for by code, whatever its
 * sequence. An owner that arrives later still (a batch read from the stream before the loss)
 * takes its code back out of the quarantine in its own transaction.
 */
export async function quarantineUnownedCodes(db: Db, campaignId: number, allowance: number): Promise<number> {
  return quarantineUnowned(db, campaignId, sql`c.seq <= ${allowance}`);
}

/**
 * Quarantines a campaign's unowned codes that `within` (a condition on `coupons c`) selects,
 * under the locking `quarantineUnownedCodes` describes; returns the campaign's quarantined count.
 */
function quarantineUnowned(db: Db, campaignId: number, within: SQL): Promise<number> {
  return retryOnDeadlock(() =>
    db.transaction(async (tx) => {
      await tx.execute(sql`SELECT id FROM campaigns WHERE id = ${campaignId} FOR UPDATE`);
      await tx.execute(sql`
        UPDATE coupons c LEFT JOIN coupon_issues i ON i.code = c.code
        SET c.quarantined_at = NOW(3)
        WHERE c.campaign_id = ${campaignId} AND ${within} AND i.code IS NULL
          AND c.quarantined_at IS NULL AND c.voided_at IS NULL`);
      const [rows] = (await tx.execute(
        sql`SELECT COUNT(*) AS n FROM coupons WHERE campaign_id = ${campaignId} AND quarantined_at IS NOT NULL`,
      )) as unknown as [Array<{ n: number | string }>];
      const quarantined = Number(rows[0]?.n ?? 0);
      await tx.update(campaigns).set({ quarantined }).where(eq(campaigns.id, campaignId));
      return quarantined;
    }),
  );
}

/** Integrity alarms the persister recorded for a campaign, by kind (src/persist/write-issues.ts). */
export async function countIntegrityAlarms(db: Db, campaignId: number): Promise<Record<string, number>> {
  const [rows] = (await db.$client.query(
    "SELECT kind, COUNT(*) AS n FROM integrity_alarms WHERE campaign_id = ? GROUP BY kind ORDER BY kind",
    [campaignId],
  )) as unknown as [Array<{ kind: string; n: number | string }>];
  return Object.fromEntries(rows.map((r) => [r.kind, Number(r.n)]));
}

/**
 * Issues accounted for in MySQL: owner records plus codes a rebuild quarantined. A campaign's
 * books are whole when this equals Redis's issued count.
 */
export async function countAccountedIssues(db: Db, campaignId: number): Promise<number> {
  const [owners, row] = await Promise.all([
    countIssues(db, campaignId),
    db.select({ q: campaigns.quarantined }).from(campaigns).where(eq(campaigns.id, campaignId)),
  ]);
  return owners + (row[0]?.q ?? 0);
}

export async function countQuarantined(db: Db, campaignId: number): Promise<number> {
  const [rows] = (await db.execute(
    sql`SELECT COUNT(*) AS n FROM coupons WHERE campaign_id = ${campaignId} AND quarantined_at IS NOT NULL`,
  )) as unknown as [Array<{ n: number | string }>];
  return Number(rows[0]?.n ?? 0);
}

/** Codes after pool position `afterSeq` that are neither voided nor quarantined, in pool order. */
export async function listPoolCodes(db: Db, campaignId: number, afterSeq: number, limit: number): Promise<Array<{ seq: number; code: string }>> {
  const [rows] = (await db.execute(sql`
    SELECT seq, code FROM coupons
    WHERE campaign_id = ${campaignId} AND seq > ${afterSeq} AND voided_at IS NULL AND quarantined_at IS NULL
    ORDER BY seq LIMIT ${limit}`)) as unknown as [Array<{ seq: number; code: string }>];
  return rows;
}

/** Owner records of users who named themselves, for the idempotency hash. */
export async function listOwners(db: Db, campaignId: number, afterSequence: number, limit: number) {
  const [rows] = (await db.execute(sql`
    SELECT sequence, code, user_id AS userId FROM coupon_issues
    WHERE campaign_id = ${campaignId} AND sequence > ${afterSequence} AND user_id IS NOT NULL
    ORDER BY sequence LIMIT ${limit}`)) as unknown as [Array<{ sequence: number; code: string; userId: string }>];
  return rows;
}

// ---- Rebuild of some sub-pools of a campaign split into several (src/campaigns/rebuild.ts).

/**
 * Each sub-pool's own issue budget (a local position) as `sub_pool_budgets` holds it
 * (src/campaigns/issue-budget.ts), by sub-pool; a sub-pool without a row is missing (a campaign
 * budgeted before the table existed, or one of one pool).
 */
export async function readSubPoolBudgets(db: Db, campaignId: number): Promise<Map<number, number>> {
  const [rows] = (await db.execute(
    sql`SELECT sub, issue_allowance AS local FROM sub_pool_budgets WHERE campaign_id = ${campaignId}`,
  )) as unknown as [Array<{ sub: number | string; local: number | string }>];
  return new Map(rows.map((r) => [Number(r.sub), Number(r.local)]));
}

/**
 * A bound per rebuilt sub-pool: the highest pool position of its codes that may have been issued
 * (its local budget · K, src/campaigns/sub-pools.ts: local position ℓ of sub-pool j is pool
 * position (ℓ − 1)·K + j + 1, so local positions ≤ a are exactly its positions ≤ a·K).
 */
export type SubPoolBound = { sub: number; upto: number };

/**
 * The bound of the sub-pool of code `c` (`CASE MOD(c.seq - 1, K) WHEN j THEN upto_j … END`):
 * NULL for a sub-pool not listed, so a comparison with it is never true and the codes of the
 * sub-pools that are not rebuilt are left out of both statements below.
 */
function boundOfSubPool(shards: number, bounds: readonly SubPoolBound[]) {
  return sql`CASE MOD(c.seq - 1, ${shards}) ${sql.join(
    bounds.map((b) => sql`WHEN ${b.sub} THEN ${b.upto}`),
    sql` `,
  )} END`;
}

/**
 * `quarantineUnownedCodes` for some of a campaign's K sub-pools, each up to its own bound: the
 * codes of the other sub-pools are still issuing from Redis (an unissued code of theirs must stay
 * issuable), and a rebuilt sub-pool that lagged behind a busy one keeps its codes past its own
 * budget. Same locking, same count of the campaign's quarantined codes.
 */
export async function quarantineUnownedSubPoolCodes(
  db: Db,
  campaignId: number,
  shards: number,
  bounds: readonly SubPoolBound[],
): Promise<number> {
  // The range on the primary key first; each sub-pool's bound then filters within it.
  const highest = Math.max(0, ...bounds.map((b) => b.upto));
  return quarantineUnowned(db, campaignId, sql`c.seq <= ${highest} AND c.seq <= ${boundOfSubPool(shards, bounds)}`);
}

/**
 * `listPoolCodes` for some of a campaign's K sub-pools: their codes after pool position
 * `afterSeq` and past their own bound that are neither voided, quarantined nor owned, in pool
 * order.
 */
export async function listSubPoolCodes(
  db: Db,
  campaignId: number,
  afterSeq: number,
  shards: number,
  bounds: readonly SubPoolBound[],
  limit: number,
): Promise<Array<{ seq: number; code: string }>> {
  const [rows] = (await db.execute(sql`
    SELECT c.seq, c.code FROM coupons c
    WHERE c.campaign_id = ${campaignId} AND c.seq > ${afterSeq} AND c.seq > ${boundOfSubPool(shards, bounds)}
      AND c.voided_at IS NULL AND c.quarantined_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM coupon_issues i WHERE i.code = c.code)
    ORDER BY c.seq LIMIT ${limit}`)) as unknown as [Array<{ seq: number; code: string }>];
  return rows;
}

/**
 * `listOwners` with each owner's code's pool position (`coupons.seq`, null for a code this
 * campaign never generated), which names the sub-pool the code came from.
 */
export async function listOwnersWithPosition(db: Db, campaignId: number, afterSequence: number, limit: number) {
  const [rows] = (await db.execute(sql`
    SELECT i.sequence, i.code, i.user_id AS userId, c.seq AS seq FROM coupon_issues i
    LEFT JOIN coupons c ON c.code = i.code AND c.campaign_id = i.campaign_id
    WHERE i.campaign_id = ${campaignId} AND i.sequence > ${afterSequence} AND i.user_id IS NOT NULL
    ORDER BY i.sequence LIMIT ${limit}`)) as unknown as [
    Array<{ sequence: number; code: string; userId: string; seq: number | null }>,
  ];
  return rows;
}

// ---- Lifecycle and reads of a campaign split into K sub-pools (src/lifecycle, campaign-snapshot.ts).
// An owner record's sub-pool is the one that issued its sequence, (sequence − 1) mod K; a code's
// is the one its pool position belongs to, (seq − 1) mod K (src/campaigns/sub-pools.ts).

/** Per-sub-pool counts from rows of `sub, n`, sub-pool 0 first, 0 where a sub-pool has none. */
function bySubPool(rows: Array<{ sub: number | string; n: number | string }>, shards: number): number[] {
  const out = Array<number>(shards).fill(0);
  for (const r of rows) out[Number(r.sub)] = Number(r.n);
  return out;
}

/**
 * Owner records of each sub-pool (by sequence), sub-pool 0 first. With `issuedBySubPool`, only
 * the issues a read of the sub-pools' `issued` counts covered: the first issuedBySubPool[j]
 * issues of sub-pool j, i.e. (sequence − 1) div K < issuedBySubPool[j] (an owner the persister
 * wrote after that read belongs to a later issue). `except` leaves out those sequences (owners
 * the caller found on the streams).
 */
export async function countIssuesBySubPool(
  db: Db,
  campaignId: number,
  shards: number,
  opts: { issuedBySubPool?: readonly number[]; except?: readonly number[] } = {},
): Promise<number[]> {
  let where = "campaign_id = ?";
  const params: unknown[] = [shards, campaignId];
  const issued = opts.issuedBySubPool;
  if (issued) {
    // The range on the primary key first; the per-sub-pool bound then filters within it.
    const highest = issued.reduce((max, n, sub) => (n > 0 ? Math.max(max, (n - 1) * shards + sub + 1) : max), 0);
    where += ` AND sequence <= ? AND (sequence - 1) DIV ? < CASE MOD(sequence - 1, ?) ${issued.map(() => "WHEN ? THEN ?").join(" ")} ELSE 0 END`;
    params.push(highest, shards, shards, ...issued.flatMap((n, sub) => [sub, n]));
  }
  if (opts.except && opts.except.length > 0) {
    where += " AND sequence NOT IN (?)";
    params.push(opts.except);
  }
  const [rows] = await db.$client.query(
    `SELECT MOD(sequence - 1, ?) AS sub, COUNT(*) AS n FROM coupon_issues WHERE ${where} GROUP BY sub`,
    params,
  );
  return bySubPool(rows as Array<{ sub: number; n: number }>, shards);
}

/** Quarantined codes of each sub-pool (by pool position), sub-pool 0 first. */
export async function countQuarantinedBySubPool(db: Db, campaignId: number, shards: number): Promise<number[]> {
  const [rows] = await db.$client.query(
    `SELECT MOD(seq - 1, ?) AS sub, COUNT(*) AS n FROM coupons
      WHERE campaign_id = ? AND quarantined_at IS NOT NULL GROUP BY sub`,
    [shards, campaignId],
  );
  return bySubPool(rows as Array<{ sub: number; n: number }>, shards);
}

/**
 * `countAccountedIssues` per sub-pool: owner records plus quarantined codes of each, sub-pool 0
 * first. A sub-pool's books are whole when its entry equals that sub-pool's `issued` in Redis.
 * The scan of the codes for quarantined ones is skipped when the campaign has none (the count on
 * its row), which is every campaign no rebuild touched.
 */
export async function countAccountedIssuesBySubPool(db: Db, campaignId: number, shards: number): Promise<number[]> {
  const [owners, row] = await Promise.all([
    countIssuesBySubPool(db, campaignId, shards),
    db.select({ q: campaigns.quarantined }).from(campaigns).where(eq(campaigns.id, campaignId)),
  ]);
  if ((row[0]?.q ?? 0) === 0) return owners;
  const quarantined = await countQuarantinedBySubPool(db, campaignId, shards);
  return owners.map((n, sub) => n + quarantined[sub]!);
}

/**
 * Owner records whose sequence names another sub-pool than their code's pool position: a code
 * issued by a sub-pool that never held it (each code lives in exactly one sub-pool).
 */
export async function countIssuesOfAnotherSubPool(db: Db, campaignId: number, shards: number): Promise<number> {
  const [rows] = await db.$client.query(
    `SELECT COUNT(*) AS n FROM coupon_issues i JOIN coupons c ON c.code = i.code AND c.campaign_id = i.campaign_id
      WHERE i.campaign_id = ? AND MOD(i.sequence - 1, ?) <> MOD(c.seq - 1, ?)`,
    [campaignId, shards, shards],
  );
  return Number((rows as Array<{ n: number | string }>)[0]!.n);
}

/** `findCode` with the campaign's number of sub-pools: which sub-pool's stream may hold its issue. */
export async function findCodeWithShards(
  db: Db,
  code: string,
): Promise<{ campaignId: number; seq: number; shards: number } | undefined> {
  const rows = await db
    .select({ campaignId: coupons.campaignId, seq: coupons.seq, shards: campaigns.shards })
    .from(coupons)
    .innerJoin(campaigns, eq(campaigns.id, coupons.campaignId))
    .where(eq(coupons.code, code))
    .limit(1);
  return rows[0];
}

/** Pool positions (`coupons.seq`) of the given codes of a campaign; a code it never generated is absent. */
export async function findCodePositions(db: Db, campaignId: number, codes: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let i = 0; i < codes.length; i += 1000) {
    const [rows] = await db.$client.query("SELECT code, seq FROM coupons WHERE campaign_id = ? AND code IN (?)", [
      campaignId,
      codes.slice(i, i + 1000),
    ]);
    for (const r of rows as Array<{ code: string; seq: number | string }>) out.set(r.code, Number(r.seq));
  }
  return out;
}
