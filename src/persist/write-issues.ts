import { sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { couponIssues } from "../db/schema.js";
import type { IssueEvent } from "./stream-entry.js";

/**
 * Appends issues of one campaign in one multi-row statement. Idempotent: a redelivered entry hits
 * the primary key (campaign, sequence) and changes nothing, so an owner is never overwritten.
 */
export async function writeIssues(db: Db, campaignId: number, events: readonly IssueEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db
    .insert(couponIssues)
    .values(
      events.map((e) => ({
        campaignId,
        sequence: e.sequence,
        code: e.code,
        userId: e.userId === "" ? null : e.userId,
        issuedAt: new Date(e.issuedAtMs),
      })),
    )
    .onDuplicateKeyUpdate({ set: { sequence: sql`${couponIssues.sequence}` } });
}
