import { requireCampaign } from "../campaigns/campaign-snapshot.js";
import {
  countIntegrityAlarms,
  countIssuesExcept,
  findIssuesOverlapping,
  readCampaignBooks,
  type IssueRow,
} from "../campaigns/repository.js";
import { withMysql, withRedis } from "../db/errors.js";
import { execMulti } from "../redis/multi.js";
import { parseIssueEvent, type IssueEvent, type RawStreamEntry } from "../persist/stream-entry.js";
import type { LifecycleDeps } from "./deps.js";

/** The books of one campaign (VerifyCampaign). */
export type Verification = {
  campaignId: number;
  generated: number;
  /** In the pool now, or when the pool was released. */
  pooled: number;
  issued: number;
  persisted: number;
  /** Issues on the stream, waiting for the persister. */
  pending: number;
  redeemed: number;
  voided: number;
  /** pooled + issued == generated. */
  poolBalances: boolean;
  /** No issued code has two owners, in MySQL and on the stream together. */
  ownersUnique: boolean;
  poolReleased: boolean;
  /** Everything found wrong, one sentence each. */
  problems: string[];
  ok: boolean;
};

/**
 * Reads Redis (one MULTI: meta, pool length, stream) and then MySQL, and checks that
 *  - every generated code is either in the pool or issued: pooled + issued = generated;
 *  - every issued code has exactly one owner record, in MySQL or still on the stream, and no
 *    code has two owners (compared entry by entry where the stream and MySQL overlap);
 *  - issued codes are this campaign's codes and none of them is voided;
 *  - the persister raised no integrity alarm (an issue it could not record as it came).
 * Redis is read first: the persister deletes a stream entry only after its MySQL commit, so an
 * issue that left the stream after the Redis read is found by the MySQL read. Issues made after
 * the Redis read (sequence > issued) are left out, so the check holds during a burst.
 */
export async function verifyCampaign(deps: LifecycleDeps, id: number): Promise<Verification> {
  const row = await requireCampaign(deps.db, id);
  const k = deps.keys.campaign(id);
  const [meta, llen, raw] = (await withRedis("cannot verify the campaign", () =>
    execMulti(deps.bulkRedis.multi().hmget(k.meta, "state", "issued", "released_pool").llen(k.pool).xrange(k.stream, "-", "+")),
  )) as [Array<string | null>, number, RawStreamEntry[]];
  const [state, issuedField, releasedPool] = meta;
  const stream = raw.map(parseIssueEvent);

  const books = await withMysql("cannot verify the campaign", () => readCampaignBooks(deps.db, id));
  const problems: string[] = [];
  const inRedis = state !== null;
  if (!inRedis) problems.push("Redis holds nothing for this campaign: the pool cannot be counted");
  if (state === "loading" || row.status === "loading") problems.push("the pool is still loading: the books are not final");

  const issued = inRedis ? Number(issuedField ?? 0) : books.persisted;
  const poolReleased = releasedPool !== null;
  const pooled = poolReleased ? Number(releasedPool) : llen;
  const poolBalances = inRedis && pooled + issued === books.generated;
  if (inRedis && !poolBalances) {
    const diff = books.generated - pooled - issued;
    problems.push(
      `pooled (${pooled}) + issued (${issued}) = ${pooled + issued}, but ${books.generated} codes were generated: ` +
        (diff > 0 ? `${diff} code(s) are neither in the pool nor issued` : `${-diff} code(s) too many`),
    );
  }

  const live = stream.filter((e) => e.sequence <= issued);
  const overlapping = await withMysql("cannot verify the campaign", () => findIssuesOverlapping(deps.db, id, live));
  const conflicts = streamConflicts(id, live, overlapping);
  problems.push(...conflicts);
  if (books.codesWithTwoOwners > 0) problems.push(`${books.codesWithTwoOwners} code(s) have more than one owner record in MySQL`);
  const ownersUnique = conflicts.length === 0 && books.codesWithTwoOwners === 0;

  // Every issue up to `issued` has an owner record: on the stream, or else in MySQL. One
  // statement counts the MySQL side, so an entry persisted meanwhile is counted exactly once.
  const onStream = new Set(live.map((e) => e.sequence));
  const owned =
    onStream.size +
    (await withMysql("cannot verify the campaign", () => countIssuesExcept(deps.db, id, issued, [...onStream])));
  // Codes a rebuild quarantined count as issued but have no owner, by design.
  if (inRedis && owned + row.quarantined !== issued) {
    problems.push(
      `${issued} codes were issued but ${owned} have an owner record (MySQL or stream)` +
        (row.quarantined > 0 ? ` and ${row.quarantined} are quarantined` : ""),
    );
  }
  const alarms = await withMysql("cannot verify the campaign", () => countIntegrityAlarms(deps.db, id));
  problems.push(...alarmProblems(alarms));
  if (books.foreignCodes > 0) problems.push(`${books.foreignCodes} owner record(s) name a code this campaign never generated`);
  if (books.voidedButIssued > 0) problems.push(`${books.voidedButIssued} issued code(s) are also voided`);
  if (poolReleased && row.cancelledAt && books.voided !== pooled) {
    problems.push(`the pool held ${pooled} codes when it was freed, but ${books.voided} are voided`);
  }

  return {
    campaignId: id,
    generated: books.generated,
    pooled,
    issued,
    persisted: books.persisted,
    pending: stream.length,
    redeemed: books.redeemed,
    voided: books.voided,
    poolBalances,
    ownersUnique,
    poolReleased,
    problems,
    ok: problems.length === 0,
  };
}

/** One sentence per kind of integrity alarm the persister recorded (src/persist/write-issues.ts). */
function alarmProblems(alarms: Record<string, number>): string[] {
  return Object.entries(alarms).map(([kind, n]) =>
    kind === "code_reused"
      ? `integrity alarm (code_reused): ${n} issue(s) came with a code that already has an owner under another sequence; their owners are not recorded (see integrity_alarms)`
      : kind === "sequence_reused"
        ? `integrity alarm (sequence_reused): ${n} issue(s) came with a sequence already stored with another code or user; they are not recorded (see integrity_alarms)`
        : `integrity alarm (${kind}): ${n} (see integrity_alarms)`,
  );
}

/** Stream entries that disagree with each other or with MySQL about a code's owner or place. */
function streamConflicts(id: number, entries: IssueEvent[], rows: Array<IssueRow & { campaignId: number }>): string[] {
  const out: string[] = [];
  const bySequence = new Map<number, IssueEvent>();
  const byCode = new Map<string, IssueEvent>();
  for (const e of entries) {
    const other = byCode.get(e.code);
    if (other && other.sequence !== e.sequence) out.push(`code ${e.code} is on the stream twice (sequences ${other.sequence} and ${e.sequence})`);
    byCode.set(e.code, e);
    bySequence.set(e.sequence, e);
  }
  for (const r of rows) {
    const sameCode = byCode.get(r.code);
    if (sameCode && (r.campaignId !== id || r.sequence !== sameCode.sequence || (r.userId ?? "") !== sameCode.userId)) {
      out.push(`code ${r.code} has two owners: "${sameCode.userId}" on the stream, "${r.userId ?? ""}" in MySQL`);
    }
    const sameSequence = r.campaignId === id ? bySequence.get(r.sequence) : undefined;
    if (sameSequence && sameSequence.code !== r.code) {
      out.push(`issue ${r.sequence} is code ${sameSequence.code} on the stream but ${r.code} in MySQL`);
    }
  }
  return out;
}
