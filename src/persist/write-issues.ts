import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from "mysql2/promise";
import type { Db } from "../db/client.js";
import { retryOnDeadlock } from "../db/deadlock.js";
import { loadRows, loadRowsOrInsert, tsvField, TSV_NULL } from "../db/load-data.js";
import type { IssueEvent } from "./stream-entry.js";

/** `code_reused`: the code is owned under another sequence; `sequence_reused`: the sequence holds another code or user. */
export type AlarmKind = "code_reused" | "sequence_reused";
export const ALARM_KINDS: readonly AlarmKind[] = ["code_reused", "sequence_reused"];

/** An owner record MySQL already holds. */
export type StoredIssue = { campaignId: number; sequence: number; code: string; userId: string | null; issuedAt: Date };

/** An issue that could not be recorded as it came, with the record that stands in its way. */
export type IntegrityAlarm = { kind: AlarmKind; issue: IssueEvent; existing: StoredIssue };

/** An issue MySQL neither took nor explains: the batch is left unacknowledged. */
export class UnrecordedIssueError extends Error {
  override readonly name = "UnrecordedIssueError";
}

export type WriteResult = {
  /** Alarms found in this batch (a redelivered batch finds its alarms again). */
  alarms: IntegrityAlarm[];
  /** Of those, alarms recorded in `integrity_alarms` for the first time, by kind. */
  newAlarms: Record<AlarmKind, number>;
  /** Codes a rebuild had quarantined that this batch gave their owner: no longer quarantined. */
  unquarantined: number;
};

export type WriteOptions = {
  /** Test seam: runs inside the transaction, after every write and before COMMIT. */
  beforeCommit?: () => Promise<void> | void;
};

/**
 * Appends issues of one campaign to `coupon_issues` in one transaction, so that an owner is never
 * dropped silently and never overlaps a quarantined code:
 *
 *  1. a shared lock on the campaign row. A rebuild's quarantine takes it exclusively
 *     (`quarantineUnownedCodes`), so it waits for every batch in flight to commit and only then
 *     looks for codes without an owner; batches of several persisters share the lock freely;
 *  2. one `LOAD DATA LOCAL … IGNORE` (a multi-row `INSERT IGNORE` where the server refuses it:
 *     ../db/load-data.ts). Its affected rows count the rows inserted, so when that is the batch's
 *     length (the common case) nothing else is read;
 *  3. otherwise the rows in the way are read: the same sequence, code and user is a redelivery
 *     (harmless); any other collision is an integrity alarm, recorded in `integrity_alarms` (its
 *     unique key makes a redelivery record it once) and returned to the caller, who logs and
 *     counts it and acknowledges the entry, so it never blocks the stream;
 *  4. only if the campaign has quarantined codes: a code of this batch a rebuild quarantined while
 *     its owner was on the way gets its owner and leaves the quarantine (and the campaign's count).
 *
 * `IGNORE` (not `ON DUPLICATE KEY UPDATE`, which also hides a collision on the code under another
 * sequence) would also turn a value too long for its column into a warning, but every field is
 * bounded before it reaches the stream (codes 10 characters, user ids 128).
 * A deadlock re-runs the whole transaction: two persisters writing overlapping entries (one claimed
 * the other's), or two batches both raising their shared lock to update the campaign's
 * quarantined count (step 4, only right after a rebuild).
 */
export async function writeIssues(
  db: Db,
  campaignId: number,
  events: readonly IssueEvent[],
  options: WriteOptions = {},
): Promise<WriteResult> {
  if (events.length === 0) return emptyResult();
  return retryOnDeadlock(async () => {
    const conn = await db.$client.getConnection();
    try {
      await conn.beginTransaction();
      try {
        const result = await writeBatch(db.$client, conn, campaignId, events);
        await options.beforeCommit?.();
        await conn.commit();
        return result;
      } catch (err) {
        await conn.rollback().catch(() => undefined);
        throw err;
      }
    } finally {
      conn.release();
    }
  });
}

function emptyResult(): WriteResult {
  return { alarms: [], newAlarms: { code_reused: 0, sequence_reused: 0 }, unquarantined: 0 };
}

async function writeBatch(pool: Pool, conn: PoolConnection, campaignId: number, events: readonly IssueEvent[]): Promise<WriteResult> {
  const [campaign] = await conn.query<RowDataPacket[]>("SELECT quarantined FROM campaigns WHERE id = ? LOCK IN SHARE MODE", [
    campaignId,
  ]);
  const inserted = await insertIssues(pool, conn, campaignId, events);
  const result = emptyResult();
  if (inserted < events.length) {
    result.alarms = await findAlarms(conn, campaignId, events);
    for (const kind of ALARM_KINDS) result.newAlarms[kind] = await recordAlarms(conn, campaignId, kind, result.alarms);
  }
  if (Number(campaign[0]?.quarantined ?? 0) > 0) result.unquarantined = await releaseFromQuarantine(conn, campaignId, events);
  return result;
}

const ISSUE_COLUMNS = "coupon_issues CHARACTER SET utf8mb4 (campaign_id, sequence, code, user_id, issued_at)";

/** Writes the batch's owners, skipping rows whose key is taken; rows inserted. */
function insertIssues(pool: Pool, conn: PoolConnection, campaignId: number, events: readonly IssueEvent[]): Promise<number> {
  return loadRowsOrInsert(
    pool,
    () => loadRows(conn, ISSUE_COLUMNS, [issueRows(campaignId, events)]),
    async () => {
      const rows = events.map((e) => [campaignId, e.sequence, e.code, e.userId === "" ? null : e.userId, new Date(e.issuedAtMs)]);
      const [res] = await conn.query<ResultSetHeader>(
        "INSERT IGNORE INTO coupon_issues (campaign_id, sequence, code, user_id, issued_at) VALUES ?",
        [rows],
      );
      return res.affectedRows;
    },
  );
}

/** The batch as LOAD DATA rows (one piece: a batch of 2,000 is ~150 KB, within max_allowed_packet); issued_at in UTC, as mysql2 writes Dates. */
function issueRows(campaignId: number, events: readonly IssueEvent[]): Buffer {
  let text = "";
  let second = NaN;
  let upToSecond = "";
  for (const e of events) {
    // Issues come in time order, hundreds per second: format each second once.
    const s = Math.floor(e.issuedAtMs / 1000);
    if (s !== second) {
      second = s;
      const iso = new Date(s * 1000).toISOString();
      upToSecond = `${iso.slice(0, 10)} ${iso.slice(11, 19)}.`;
    }
    const ms = e.issuedAtMs - s * 1000;
    const user = e.userId === "" ? TSV_NULL : tsvField(e.userId);
    text += `${campaignId}\t${e.sequence}\t${tsvField(e.code)}\t${user}\t${upToSecond}${ms < 10 ? "00" : ms < 100 ? "0" : ""}${ms}\n`;
  }
  return Buffer.from(text, "utf8");
}

/**
 * Compares each issue of the batch with the rows holding its sequence or its code. Read after the
 * INSERT: it waited for any uncommitted row in its way, so this read sees that row committed.
 */
async function findAlarms(conn: PoolConnection, campaignId: number, events: readonly IssueEvent[]): Promise<IntegrityAlarm[]> {
  const [found] = await conn.query<RowDataPacket[]>(
    `SELECT campaign_id AS campaignId, sequence, code, user_id AS userId, issued_at AS issuedAt FROM coupon_issues
      WHERE campaign_id = ? AND sequence IN (?)
     UNION
     SELECT campaign_id, sequence, code, user_id, issued_at FROM coupon_issues WHERE code IN (?)`,
    [campaignId, events.map((e) => e.sequence), events.map((e) => e.code)],
  );
  const stored = found.map((r) => ({ ...(r as StoredIssue), campaignId: Number(r.campaignId) }));
  const bySequence = new Map(stored.filter((r) => r.campaignId === campaignId).map((r) => [r.sequence, r]));
  const byCode = new Map(stored.map((r) => [r.code, r]));
  const alarms: IntegrityAlarm[] = [];
  for (const issue of events) {
    const atSequence = bySequence.get(issue.sequence);
    if (atSequence && atSequence.code === issue.code && (atSequence.userId ?? "") === issue.userId) continue;
    if (atSequence) alarms.push({ kind: "sequence_reused", issue, existing: atSequence });
    const ofCode = byCode.get(issue.code);
    if (ofCode && ofCode !== atSequence) alarms.push({ kind: "code_reused", issue, existing: ofCode });
    if (!atSequence && !ofCode) {
      // Neither inserted nor in the way of anything: never acknowledge what MySQL does not hold.
      throw new UnrecordedIssueError(`issue ${issue.sequence} (code ${issue.code}) of campaign ${campaignId} was not written and nothing collides with it`);
    }
  }
  return alarms;
}

/** Inserts the alarms of one kind; returns how many were not recorded before. */
async function recordAlarms(conn: PoolConnection, campaignId: number, kind: AlarmKind, alarms: IntegrityAlarm[]): Promise<number> {
  const rows = alarms
    .filter((a) => a.kind === kind)
    .map((a) => [campaignId, kind, a.issue.sequence, a.issue.code, a.issue.userId === "" ? null : a.issue.userId, describeStored(a.existing)]);
  if (rows.length === 0) return 0;
  const [res] = await conn.query<ResultSetHeader>(
    "INSERT IGNORE INTO integrity_alarms (campaign_id, kind, sequence, code, user_id, existing) VALUES ?",
    [rows],
  );
  return res.affectedRows;
}

/** The stored record, in words, as `integrity_alarms.existing` keeps it (at most 400 characters). */
export function describeStored(r: StoredIssue): string {
  const user = r.userId === null ? "no user" : `user "${r.userId}"`;
  return `campaign ${r.campaignId}, sequence ${r.sequence}, code ${r.code}, ${user}, issued ${r.issuedAt.toISOString()}`.slice(0, 400);
}

/**
 * Codes of this batch that a rebuild quarantined and that now have their owner leave the
 * quarantine, so owners and quarantined codes stay disjoint and owners + quarantined never exceed
 * the issued count. Runs only for campaigns with quarantined codes (after a rebuild).
 */
async function releaseFromQuarantine(conn: PoolConnection, campaignId: number, events: readonly IssueEvent[]): Promise<number> {
  const [res] = await conn.query<ResultSetHeader>(
    `UPDATE coupons c JOIN coupon_issues i ON i.code = c.code AND i.campaign_id = c.campaign_id
        SET c.quarantined_at = NULL
      WHERE c.campaign_id = ? AND c.code IN (?) AND c.quarantined_at IS NOT NULL`,
    [campaignId, events.map((e) => e.code)],
  );
  if (res.affectedRows > 0) {
    await conn.query("UPDATE campaigns SET quarantined = quarantined - ? WHERE id = ?", [res.affectedRows, campaignId]);
  }
  return res.affectedRows;
}
