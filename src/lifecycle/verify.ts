import { requireCampaign } from "../campaigns/campaign-snapshot.js";
import {
  countIntegrityAlarms,
  countIssuesBySubPool,
  countIssuesExcept,
  countIssuesOfAnotherSubPool,
  countQuarantinedBySubPool,
  findCodePositions,
  findIssuesOverlapping,
  readCampaignBooks,
  type CampaignRow,
  type IssueRow,
} from "../campaigns/repository.js";
import { localIssueOf, subPoolOfSequence } from "../campaigns/sub-pool-issues.js";
import { subPoolOfPosition, subPoolSize } from "../campaigns/sub-pools.js";
import { withMysql, withRedis } from "../db/errors.js";
import type { CampaignKeys } from "../redis/keys.js";
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

/** What Redis holds of one sub-pool (a campaign of one pool: its only one). */
type SubPoolRead = { state: string | null; issued: number; releasedPool: string | null; llen: number; stream: IssueEvent[] };

async function readSubPool(deps: LifecycleDeps, k: CampaignKeys): Promise<SubPoolRead> {
  const [meta, llen, raw] = (await execMulti(
    deps.bulkRedis.multi().hmget(k.meta, "state", "issued", "released_pool").llen(k.pool).xrange(k.stream, "-", "+"),
  )) as [Array<string | null>, number, RawStreamEntry[]];
  const [state, issued, releasedPool] = meta;
  return { state: state ?? null, issued: Number(issued ?? 0), releasedPool: releasedPool ?? null, llen, stream: raw.map(parseIssueEvent) };
}

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
 *
 * A campaign split into K sub-pools is read with one MULTI per sub-pool (all at once, before
 * MySQL), and each check holds for the campaign and for every sub-pool: the pools and issued
 * counts add up to the codes generated, and each sub-pool's to the codes it holds; no code is
 * on two streams or has two owners across sub-pools; each sub-pool's issues (by sequence, up to
 * its own `issued`) have an owner record or a quarantined code; and every issue came from the
 * sub-pool that holds its code (each code lives in exactly one).
 */
export async function verifyCampaign(deps: LifecycleDeps, id: number): Promise<Verification> {
  const row = await requireCampaign(deps.db, id);
  const shards = row.shards;
  const pools = shards === 1 ? [deps.keys.campaign(id)] : deps.keys.subPools(id, shards);
  const reads = await withRedis("cannot verify the campaign", () => Promise.all(pools.map((k) => readSubPool(deps, k))));
  const stream = reads.flatMap((r) => r.stream);

  const books = await withMysql("cannot verify the campaign", () => readCampaignBooks(deps.db, id));
  const problems: string[] = [];
  const inRedis = reads.every((r) => r.state !== null);
  if (shards === 1) {
    if (!inRedis) problems.push("Redis holds nothing for this campaign: the pool cannot be counted");
  } else {
    reads.forEach((r, sub) => {
      if (r.state === null) problems.push(`Redis holds nothing for sub-pool ${sub} of this campaign: its pool cannot be counted`);
    });
  }
  if (reads.some((r) => r.state === "loading") || row.status === "loading") problems.push("the pool is still loading: the books are not final");

  const issued = inRedis ? reads.reduce((n, r) => n + r.issued, 0) : books.persisted;
  const poolReleased = reads.every((r) => r.releasedPool !== null);
  const pooledOf = (r: SubPoolRead) => (r.releasedPool !== null ? Number(r.releasedPool) : r.llen);
  const pooled = reads.reduce((n, r) => n + pooledOf(r), 0);
  let poolBalances = inRedis && pooled + issued === books.generated;
  if (inRedis && pooled + issued !== books.generated) {
    const diff = books.generated - pooled - issued;
    problems.push(
      `pooled (${pooled}) + issued (${issued}) = ${pooled + issued}, but ${books.generated} codes were generated: ` +
        (diff > 0 ? `${diff} code(s) are neither in the pool nor issued` : `${-diff} code(s) too many`),
    );
  }
  if (shards > 1 && inRedis) {
    reads.forEach((r, sub) => {
      const size = subPoolSize(sub, shards, row.totalCoupons);
      if (pooledOf(r) + r.issued === size) return;
      poolBalances = false;
      problems.push(`sub-pool ${sub}: pooled (${pooledOf(r)}) + issued (${r.issued}) = ${pooledOf(r) + r.issued}, but it holds ${size} codes`);
    });
  }

  // The issues each sub-pool had counted when it was read; later ones are left out.
  const live = shards === 1 ? stream.filter((e) => e.sequence <= issued) : liveSubPoolEntries(reads, shards, problems);
  const overlapping = await withMysql("cannot verify the campaign", () => findIssuesOverlapping(deps.db, id, live));
  const conflicts = streamConflicts(id, live, overlapping);
  problems.push(...conflicts);
  if (books.codesWithTwoOwners > 0) problems.push(`${books.codesWithTwoOwners} code(s) have more than one owner record in MySQL`);
  const ownersUnique = conflicts.length === 0 && books.codesWithTwoOwners === 0;

  // Every issue up to `issued` has an owner record: on the stream, or else in MySQL. One
  // statement counts the MySQL side, so an entry persisted meanwhile is counted exactly once.
  const onStream = new Set(live.map((e) => e.sequence));
  if (shards === 1) {
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
  } else {
    if (inRedis) problems.push(...(await subPoolOwnerProblems(deps, row, reads, live)));
    problems.push(...(await placementProblems(deps, row, live)));
  }
  const alarms = await withMysql("cannot verify the campaign", () => countIntegrityAlarms(deps.db, id));
  problems.push(...alarmProblems(alarms));
  if (books.redeemedCount !== books.redeemed) {
    problems.push(`the campaign's redeemed count is ${books.redeemedCount}, but ${books.redeemed} owner record(s) are redeemed`);
  }
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

/**
 * The stream entries of a campaign's sub-pools that their sub-pool had counted when read (its
 * first `issued` issues). An entry whose sequence names another sub-pool than the stream it is
 * on was not written by that sub-pool's issue script: it is reported and left out.
 */
function liveSubPoolEntries(reads: SubPoolRead[], shards: number, problems: string[]): IssueEvent[] {
  const live: IssueEvent[] = [];
  reads.forEach((r, sub) => {
    for (const e of r.stream) {
      if (subPoolOfSequence(e.sequence, shards) !== sub) {
        problems.push(`issue ${e.sequence} (code ${e.code}) is on sub-pool ${sub}'s stream, but its sequence is sub-pool ${subPoolOfSequence(e.sequence, shards)}'s`);
      } else if (localIssueOf(e.sequence, shards) <= r.issued) {
        live.push(e);
      }
    }
  });
  return live;
}

/**
 * Per sub-pool: every issue it counted has an owner record (on its stream or in MySQL) or is a
 * quarantined code of that sub-pool. One statement counts the MySQL side of every sub-pool,
 * leaving out the sequences found on the streams, so an entry persisted meanwhile counts once.
 */
async function subPoolOwnerProblems(deps: LifecycleDeps, row: CampaignRow, reads: SubPoolRead[], live: IssueEvent[]): Promise<string[]> {
  const shards = row.shards;
  const issuedBySubPool = reads.map((r) => r.issued);
  const [inMysql, quarantined] = await withMysql("cannot verify the campaign", () =>
    Promise.all([
      countIssuesBySubPool(deps.db, row.id, shards, { issuedBySubPool, except: live.map((e) => e.sequence) }),
      row.quarantined > 0 ? countQuarantinedBySubPool(deps.db, row.id, shards) : Array<number>(shards).fill(0),
    ]),
  );
  const onStream = Array<number>(shards).fill(0);
  for (const e of live) onStream[subPoolOfSequence(e.sequence, shards)]!++;
  const out: string[] = [];
  issuedBySubPool.forEach((issued, sub) => {
    const owned = onStream[sub]! + inMysql[sub]!;
    const q = quarantined[sub]!;
    if (owned + q === issued) return;
    out.push(
      `sub-pool ${sub}: ${issued} codes were issued but ${owned} have an owner record (MySQL or stream)` +
        (q > 0 ? ` and ${q} are quarantined` : ""),
    );
  });
  return out;
}

/**
 * Every issue came from the sub-pool holding its code: owner records in MySQL (one statement)
 * and the entries still on the streams (their codes' positions looked up).
 */
async function placementProblems(deps: LifecycleDeps, row: CampaignRow, live: IssueEvent[]): Promise<string[]> {
  const shards = row.shards;
  const [misplaced, positions] = await withMysql("cannot verify the campaign", () =>
    Promise.all([
      countIssuesOfAnotherSubPool(deps.db, row.id, shards),
      findCodePositions(
        deps.db,
        row.id,
        live.map((e) => e.code),
      ),
    ]),
  );
  const out: string[] = [];
  if (misplaced > 0) out.push(`${misplaced} owner record(s) in MySQL were issued by another sub-pool than the one holding their code`);
  for (const e of live) {
    const position = positions.get(e.code);
    if (position === undefined) out.push(`code ${e.code} on the stream (issue ${e.sequence}) is not a code this campaign generated`);
    else if (subPoolOfPosition(position, shards) !== subPoolOfSequence(e.sequence, shards)) {
      out.push(
        `code ${e.code} was issued by sub-pool ${subPoolOfSequence(e.sequence, shards)} (issue ${e.sequence}), but it belongs to sub-pool ${subPoolOfPosition(position, shards)}`,
      );
    }
  }
  return out;
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
