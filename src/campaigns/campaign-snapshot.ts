import type { RedisClient } from "../redis/client.js";
import type { Db } from "../db/client.js";
import { withMysql, withRedis } from "../db/errors.js";
import { and, asc, eq, lte } from "drizzle-orm";
import { couponIssues } from "../db/schema.js";
import { failedPrecondition, notFound, type AppError } from "../errors.js";
import { parseIssueEvent, type RawStreamEntry } from "../persist/stream-entry.js";
import type { CampaignKeys, RedisKeys } from "../redis/keys.js";
import { execMulti } from "../redis/multi.js";
import {
  countIssues,
  countIssuesBySubPool,
  countRedeemed,
  findCampaign,
  listIssues,
  type CampaignRow,
  type IssueRow,
} from "./repository.js";
import { combinedSubPoolState, countedIssues, highestCountedSequence, localIssueOf } from "./sub-pool-issues.js";

export type CampaignState = "loading" | "scheduled" | "open" | "paused" | "ended" | "sold_out" | "cancelled";

export type CampaignView = {
  id: number;
  name: string;
  startTime: Date;
  /** Null for a campaign that runs until sold out. */
  endTime: Date | null;
  totalCoupons: number;
  issued: number;
  remaining: number;
  persisted: number;
  loaded: number;
  /** Issued codes used at checkout. */
  redeemed: number;
  /** Unissued codes voided by a cancellation. */
  voided: number;
  /** Codes a rebuild quarantined: issued before Redis was lost, owner never recorded. */
  quarantined: number;
  state: CampaignState;
  /** Sub-pools the codes are split into (CreateCampaign `shards`); 1 for one pool. */
  shards: number;
};

/** A campaign with every code issued so far (readCampaignWithCodes). */
export type CampaignListing = {
  view: CampaignView;
  codes: string[];
  /**
   * Which codes these are, when every one of them came from MySQL's owner records: a later
   * counts read (readCampaignCounts) with the same key would list the same ones. Undefined while
   * some came from the streams (issues not yet persisted).
   */
  codesKey: string | undefined;
};

export type SnapshotDeps = { db: Db; bulkRedis: RedisClient; keys: RedisKeys };

type RedisSnapshot = {
  /**
   * False when Redis holds nothing live for this campaign: never loaded there, emptied, or its
   * keys released by the sweeper after it closed (only the meta tombstone is left). With
   * sub-pools: false unless every sub-pool is live.
   */
  present: boolean;
  /** The meta hash's state: loading | ready | paused | cancelled (with sub-pools: combinedSubPoolState). */
  state: string | null;
  /** Codes issued, over every sub-pool. */
  issued: number;
  /** Each sub-pool's own `issued`, sub-pool 0 first ([issued] for one pool). */
  issuedBySubPool: number[];
  /** Whether an issue (by sequence) is one of those `issued` counts; later issues are not. */
  counted: (sequence: number) => boolean;
  /** The highest sequence `counted` covers: MySQL reads go up to it. */
  maxSequence: number;
  remaining: number;
  nowMs: number;
  /** Issues not yet written to MySQL (empty when the stream was not asked for). */
  unpersisted: IssueRow[];
};

/**
 * Stream entries read per XRANGE. A persister that fell behind can leave a long stream; reading it
 * in slices keeps each Redis command short, so IssueCoupon and the persister never queue behind
 * one huge reply.
 */
export const STREAM_SLICE = 5000;

function toIssueRow(raw: RawStreamEntry): IssueRow {
  const e = parseIssueEvent(raw);
  return { sequence: e.sequence, code: e.code, userId: e.userId || null, issuedAt: new Date(e.issuedAtMs) };
}

/** What one sub-pool's keys hold (a campaign of one pool: its only sub-pool). */
type SubPoolRead = { state: string | null; released: boolean; issued: number; remaining: number; nowMs: number; unpersisted: IssueRow[] };

/**
 * Reads the live part of a campaign from Redis: per sub-pool the meta hash, pool length, clock and
 * the first slice of the stream in one MULTI (one hash slot), then the rest of the stream slice by
 * slice. Entries the first read counted (`counted`) that the persister deletes meanwhile are
 * already in MySQL, which callers read afterwards; entries appended meanwhile are not counted and
 * left out by callers. `withStream: false` reads the counts alone.
 *
 * A campaign of K > 1 sub-pools is read sub-pool by sub-pool, all at once (their keys may live on
 * different masters, so one MULTI cannot span them), every stream before any MySQL read: an
 * issue answered before the call is on its sub-pool's stream or in MySQL, whichever sub-pool it
 * came from (read-your-writes over all K streams). The reads are not one instant across
 * sub-pools, but each sub-pool's `issued` and stream are, which is what `counted` relies on.
 */
async function readRedisSnapshot(deps: SnapshotDeps, row: CampaignRow, withStream = true): Promise<RedisSnapshot> {
  const shards = row.shards;
  const pools = shards === 1 ? [deps.keys.campaign(row.id)] : deps.keys.subPools(row.id, shards);
  const reads = await Promise.all(pools.map((k) => readSubPool(deps, k, shards, withStream)));
  const issuedBySubPool = reads.map((r) => r.issued);
  const issued = issuedBySubPool.reduce((a, b) => a + b, 0);
  return {
    present: reads.every((r) => r.state !== null && !r.released),
    state: shards === 1 ? reads[0]!.state : combinedSubPoolState(reads.map((r) => r.state)),
    issued,
    issuedBySubPool,
    counted: countedIssues(issuedBySubPool),
    maxSequence: shards === 1 ? issued : highestCountedSequence(issuedBySubPool),
    remaining: reads.reduce((n, r) => n + r.remaining, 0),
    nowMs: reads[0]!.nowMs,
    unpersisted: shards === 1 ? reads[0]!.unpersisted : reads.flatMap((r) => r.unpersisted),
  };
}

async function readSubPool(
  deps: SnapshotDeps,
  k: CampaignKeys,
  shards: number,
  withStream: boolean,
): Promise<SubPoolRead> {
  const multi = deps.bulkRedis.multi().hmget(k.meta, "state", "issued", "released_ms").llen(k.pool).time();
  if (withStream) multi.xrange(k.stream, "-", "+", "COUNT", STREAM_SLICE);
  const [meta, llen, time, first] = (await withRedis("cannot read the campaign", () => execMulti(multi))) as [
    Array<string | null>,
    number,
    [string, string],
    RawStreamEntry[] | undefined,
  ];
  const issued = Number(meta[1] ?? 0);
  const unpersisted: IssueRow[] = [];
  let slice = first ?? [];
  for (;;) {
    for (const raw of slice) unpersisted.push(toIssueRow(raw));
    const last = slice[slice.length - 1];
    // A full slice whose last entry is still within the counted issues: more may follow.
    if (slice.length < STREAM_SLICE || !last || localIssueOf(unpersisted[unpersisted.length - 1]!.sequence, shards) >= issued) break;
    slice = (await withRedis("cannot read the campaign", () =>
      deps.bulkRedis.xrange(k.stream, `(${last[0]}`, "+", "COUNT", STREAM_SLICE),
    )) as RawStreamEntry[];
  }
  return {
    state: meta[0] ?? null,
    released: meta[2] !== null,
    issued,
    remaining: llen,
    nowMs: Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000),
    unpersisted,
  };
}

/** MySQL rows and stream entries merged by sequence, each sequence once, only the `counted` ones. */
export function mergeIssues(persisted: IssueRow[], unpersisted: IssueRow[], counted: (sequence: number) => boolean): IssueRow[] {
  const bySequence = new Map<number, IssueRow>();
  for (const r of persisted) if (counted(r.sequence)) bySequence.set(r.sequence, r);
  for (const r of unpersisted) if (counted(r.sequence) && !bySequence.has(r.sequence)) bySequence.set(r.sequence, r);
  return [...bySequence.values()].sort((a, b) => a.sequence - b.sequence);
}

/**
 * The state a caller of IssueCoupon would meet, with issue-coupon.lua's precedence: cancelled,
 * ended, paused, not started, sold out. `redisState` is the meta hash's `state` when Redis holds
 * the campaign live; undefined when it does not, and MySQL's copy of the lifecycle decides.
 */
export function campaignStateOf(
  row: CampaignRow,
  redisState: string | null | undefined,
  remaining: number,
  nowMs: number,
): CampaignState {
  const state = redisState ?? (row.cancelledAt ? "cancelled" : row.pausedAt ? "paused" : row.status);
  if (state === "cancelled") return "cancelled";
  if (state === "loading" || row.status === "loading") return "loading";
  if (row.endTime && nowMs >= row.endTime.getTime()) return "ended";
  if (state === "paused") return "paused";
  if (nowMs < row.startTime.getTime()) return "scheduled";
  return remaining === 0 ? "sold_out" : "open";
}

export async function requireCampaign(db: Db, id: number): Promise<CampaignRow> {
  const row = await withMysql("cannot read the campaign", () => findCampaign(db, id));
  if (!row) throw notFound(`campaign ${id} does not exist`);
  return row;
}

/** Why a campaign's codes are not listed in one answer: too many. Carries the count. */
export function tooManyCodes(id: number, codes: number, maxCodes: number): AppError {
  return failedPrecondition(
    `campaign ${id} has ${codes} issued codes, more than one GetCampaign answer lists (${maxCodes}): ` +
      "page through them with ListIssuedCoupons, or ask GetCampaign with omit_codes for the counts and state alone",
  );
}

/**
 * Codes by sequence, from MySQL then the streams, each sequence once, in sequence order (issue
 * order for one pool; interleaved across sub-pools), only the `counted` ones (all ≤ maxSequence).
 */
function mergeCodes(
  persisted: Array<{ sequence: number; code: string }>,
  unpersisted: IssueRow[],
  maxSequence: number,
  counted: (sequence: number) => boolean,
): string[] {
  const bySequence: Array<string | undefined> = new Array(maxSequence + 1);
  for (const r of persisted) if (counted(r.sequence)) bySequence[r.sequence] = r.code;
  for (const r of unpersisted) if (counted(r.sequence) && bySequence[r.sequence] === undefined) bySequence[r.sequence] = r.code;
  const codes: string[] = [];
  for (const c of bySequence) if (c !== undefined) codes.push(c);
  return codes;
}

/**
 * A campaign with every code issued so far, read-your-writes: an issue that IssueCoupon returned is
 * either still on the stream or already in MySQL. The stream is read first: the persister deletes
 * an entry only after its MySQL commit, so an entry missing from the stream read is already in the
 * MySQL read that follows. Refused (failed_precondition, naming ListIssuedCoupons) when more than
 * `maxCodes` would be listed, before any code is read: the cost of one answer stays bounded.
 */
export async function readCampaignWithCodes(
  deps: SnapshotDeps,
  id: number,
  maxCodes: number,
): Promise<CampaignListing> {
  const row = await requireCampaign(deps.db, id);
  const live = await readRedisSnapshot(deps, row);
  if (!live.present) {
    // Redis holds nothing live for this campaign: MySQL is the whole truth.
    const owners = await withMysql("cannot read the campaign", () => countIssues(deps.db, id));
    if (owners > maxCodes) throw tooManyCodes(id, owners, maxCodes);
    const [persisted, redeemed] = await withMysql("cannot read the campaign", () =>
      Promise.all([listCodes(deps.db, id), countRedeemed(deps.db, id)]),
    );
    const codes = persisted.map((r) => r.code);
    return { view: viewFromMysql(row, codes.length, redeemed), codes, codesKey: mysqlCodesKey(codes.length) };
  }
  // Quarantined codes are counted as issued but have no owner: they are never listed.
  const listed = Math.max(0, live.issued - row.quarantined);
  if (listed > maxCodes) throw tooManyCodes(id, listed, maxCodes);
  const [persisted, redeemed] = await withMysql("cannot read the campaign", () =>
    Promise.all([listCodes(deps.db, id, live.maxSequence), countRedeemed(deps.db, id)]),
  );
  const codes = mergeCodes(persisted, live.unpersisted, live.maxSequence, live.counted);
  // With sub-pools MySQL's rows up to maxSequence may include issues made after the Redis read.
  const persistedCount = row.shards === 1 ? persisted.length : persisted.filter((r) => live.counted(r.sequence)).length;
  const fromMysqlAlone = persistedCount === codes.length;
  return {
    view: viewFromRedis(row, live, persistedCount, redeemed),
    codes,
    codesKey: fromMysqlAlone ? liveCodesKey(live, persistedCount) : undefined,
  };
}

/** Sequence and code of each owner in MySQL, in issue order: no user ids or dates, kept small. */
function listCodes(db: Db, id: number, maxSequence?: number): Promise<Array<{ sequence: number; code: string }>> {
  const where =
    maxSequence === undefined
      ? eq(couponIssues.campaignId, id)
      : and(eq(couponIssues.campaignId, id), lte(couponIssues.sequence, maxSequence));
  return db
    .select({ sequence: couponIssues.sequence, code: couponIssues.code })
    .from(couponIssues)
    .where(where)
    .orderBy(asc(couponIssues.sequence));
}

/**
 * The campaign's counts and state without its list of codes: what the admin methods answer
 * with. Counts come from MySQL's indexes, so the cost does not grow with the issued codes read.
 */
export async function readCampaignView(deps: SnapshotDeps, id: number): Promise<CampaignView> {
  return (await readCampaignCounts(deps, id)).view;
}

/** The campaign's counts and state, with the key of the codes a listing read now would hold. */
export async function readCampaignCounts(deps: SnapshotDeps, id: number): Promise<{ view: CampaignView; codesKey: string }> {
  const row = await requireCampaign(deps.db, id);
  const live = await readRedisSnapshot(deps, row, false);
  const [persisted, redeemed] = await withMysql("cannot read the campaign", () =>
    Promise.all([countPersisted(deps.db, row, live), countRedeemed(deps.db, id)]),
  );
  return live.present
    ? { view: viewFromRedis(row, live, persisted, redeemed), codesKey: liveCodesKey(live, persisted) }
    : { view: viewFromMysql(row, persisted, redeemed), codesKey: mysqlCodesKey(persisted) };
}

/*
 * A codes key names the owner records a listing made of MySQL's rows alone holds: which issues
 * are counted (each sub-pool's `issued`; every owner when Redis holds nothing live) and how many
 * of them have an owner record. Owner records are only ever added, never deleted or changed, so
 * two reads with the same key read the same rows, and list the same codes in the same order. (A
 * listing with issues still on a stream has no key: an entry can leave the stream without a
 * record, e.g. an integrity alarm, which no count shows.)
 */
function liveCodesKey(live: RedisSnapshot, persisted: number): string {
  return `redis ${live.issuedBySubPool.join(",")} persisted ${persisted}`;
}

function mysqlCodesKey(owners: number): string {
  return `mysql ${owners}`;
}

/** Owners in MySQL of the issues `live` counted; every owner when Redis holds nothing live. */
async function countPersisted(db: Db, row: CampaignRow, live: RedisSnapshot): Promise<number> {
  if (!live.present || row.shards === 1) return countIssues(db, row.id, live.present ? live.issued : undefined);
  const bySubPool = await countIssuesBySubPool(db, row.id, row.shards, { issuedBySubPool: live.issuedBySubPool });
  return bySubPool.reduce((a, b) => a + b, 0);
}

function viewFromRedis(row: CampaignRow, live: RedisSnapshot, persisted: number, redeemed: number): CampaignView {
  return {
    ...base(row),
    issued: live.issued,
    remaining: live.remaining,
    persisted,
    redeemed,
    state: campaignStateOf(row, live.state, live.remaining, live.nowMs),
  };
}

function viewFromMysql(row: CampaignRow, owners: number, redeemed: number): CampaignView {
  // Quarantined codes were (possibly) issued but have no owner record.
  const issued = owners + row.quarantined;
  const remaining = row.totalCoupons - issued;
  return {
    ...base(row),
    issued,
    remaining,
    persisted: owners,
    redeemed,
    state: campaignStateOf(row, undefined, remaining, Date.now()),
  };
}

function base(row: CampaignRow) {
  return {
    id: row.id,
    name: row.name,
    startTime: row.startTime,
    endTime: row.endTime,
    totalCoupons: row.totalCoupons,
    loaded: row.loaded,
    voided: row.voided,
    quarantined: row.quarantined,
    shards: row.shards,
  };
}

/**
 * One page of issues after `afterSequence`. Sequences of one pool are dense (1, 2, 3, …), so when
 * MySQL alone returns a full run of consecutive sequences, that is the page and Redis is not read
 * at all (true for any K: no sequence fits between consecutive ones; with sub-pools, whose
 * sequences interleave with gaps, it is rarely the case and every sub-pool's stream is read).
 *
 * With K > 1 sub-pools a lagging sub-pool's next issue can get a sequence below one already
 * listed (src/campaigns/sub-pools.ts), so a listing paged while the campaign still issues may
 * miss issues made after it passed their sequence; one paged once issuing stopped is complete.
 */
export async function readIssuesPage(
  deps: SnapshotDeps,
  id: number,
  afterSequence: number,
  pageSize: number,
): Promise<IssueRow[]> {
  const row = await requireCampaign(deps.db, id);
  const fromMysql = await withMysql("cannot list issues", () => listIssues(deps.db, id, afterSequence, pageSize));
  const last = fromMysql[fromMysql.length - 1];
  if (fromMysql.length === pageSize && last && last.sequence === afterSequence + pageSize) return fromMysql;
  const live = await readRedisSnapshot(deps, row);
  if (!live.present) return fromMysql;
  const persisted = await withMysql("cannot list issues", () => listIssues(deps.db, id, afterSequence, pageSize));
  const after = live.unpersisted.filter((r) => r.sequence > afterSequence);
  return mergeIssues(persisted, after, live.counted).slice(0, pageSize);
}
