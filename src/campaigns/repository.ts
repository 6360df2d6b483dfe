import { randomBytes } from "node:crypto";
import { and, asc, count, eq, gt, sql } from "drizzle-orm";
import type { ResultSetHeader } from "mysql2";
import type { Db } from "../db/client.js";
import { campaigns, couponIssues, coupons } from "../db/schema.js";

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
  c: { name: string; startTime: Date; totalCoupons: number },
): Promise<CampaignRow> {
  return db.transaction(async (tx) => {
    await tx.execute(
      sql`UPDATE code_allocator SET next_counter = LAST_INSERT_ID(next_counter + ${c.totalCoupons}) WHERE id = 1`,
    );
    const [rows] = (await tx.execute(sql`SELECT LAST_INSERT_ID() AS next`)) as unknown as [Array<{ next: string | number }>];
    const codeOffset = Number(rows[0]!.next) - c.totalCoupons;
    const [res] = await tx.insert(campaigns).values({ ...c, codeOffset, status: "loading", loaded: 0 });
    const id = Number((res as ResultSetHeader).insertId);
    return { id, ...c, codeOffset, status: "loading", loaded: 0, createdAt: new Date() };
  });
}

export async function findCampaign(db: Db, id: number): Promise<CampaignRow | undefined> {
  const rows = await db.select().from(campaigns).where(eq(campaigns.id, id)).limit(1);
  return rows[0];
}

/**
 * One multi-row INSERT per chunk through mysql2's client-side `VALUES ?` expansion: drizzle's
 * builder binds every value as a parameter, which is ~8x slower for thousands of rows.
 */
export async function insertCodes(db: Db, campaignId: number, firstSeq: number, codes: readonly string[]) {
  const rows = codes.map((code, i) => [campaignId, firstSeq + i, code]);
  await db.$client.query("INSERT INTO coupons (campaign_id, seq, code) VALUES ?", [rows]);
}

export async function deleteCodes(db: Db, campaignId: number) {
  await db.delete(coupons).where(eq(coupons.campaignId, campaignId));
}

export async function setLoadProgress(db: Db, campaignId: number, loaded: number, status: "loading" | "ready") {
  await db.update(campaigns).set({ loaded, status }).where(eq(campaigns.id, campaignId));
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

export async function countIssues(db: Db, campaignId: number): Promise<number> {
  const rows = await db.select({ n: count() }).from(couponIssues).where(eq(couponIssues.campaignId, campaignId));
  return rows[0]?.n ?? 0;
}
