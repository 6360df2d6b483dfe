import type { Redis } from "ioredis";
import type { Db } from "../db/client.js";
import { withMysql, withRedis } from "../db/errors.js";
import { notFound } from "../errors.js";
import { parseIssueEvent, type RawStreamEntry } from "../persist/stream-entry.js";
import type { RedisKeys } from "../redis/keys.js";
import { findCampaign, listIssues, type CampaignRow, type IssueRow } from "./repository.js";

export type CampaignState = "loading" | "scheduled" | "open" | "sold_out";

export type CampaignView = {
  id: number;
  name: string;
  startTime: Date;
  totalCoupons: number;
  issued: number;
  remaining: number;
  persisted: number;
  loaded: number;
  state: CampaignState;
};

export type SnapshotDeps = { db: Db; bulkRedis: Redis; keys: RedisKeys };

type RedisSnapshot = {
  /** False when Redis holds nothing for this campaign (emptied, or never loaded there). */
  present: boolean;
  loading: boolean;
  issued: number;
  remaining: number;
  nowMs: number;
  /** Issues not yet written to MySQL. */
  unpersisted: IssueRow[];
};

/**
 * Reads the live part of a campaign from Redis in one MULTI, so the issued count and the stream
 * agree with each other.
 */
async function readRedisSnapshot(deps: SnapshotDeps, id: number): Promise<RedisSnapshot> {
  const k = deps.keys.campaign(id);
  const replies = await withRedis("cannot read the campaign", () =>
    deps.bulkRedis.multi().hmget(k.meta, "state", "issued").llen(k.pool).time().xrange(k.stream, "-", "+").exec(),
  );
  const [meta, llen, time, stream] = (replies ?? []).map(([err, v]) => {
    if (err) throw err;
    return v;
  }) as [Array<string | null>, number, [string, string], RawStreamEntry[]];
  const unpersisted = stream.map((raw) => {
    const e = parseIssueEvent(raw);
    return { sequence: e.sequence, code: e.code, userId: e.userId || null, issuedAt: new Date(e.issuedAtMs) };
  });
  return {
    present: meta[0] !== null,
    loading: meta[0] === "loading",
    issued: Number(meta[1] ?? 0),
    remaining: llen,
    nowMs: Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000),
    unpersisted,
  };
}

/** MySQL rows and stream entries merged by sequence, each sequence once, up to `maxSequence`. */
export function mergeIssues(persisted: IssueRow[], unpersisted: IssueRow[], maxSequence: number): IssueRow[] {
  const bySequence = new Map<number, IssueRow>();
  for (const r of persisted) if (r.sequence <= maxSequence) bySequence.set(r.sequence, r);
  for (const r of unpersisted) if (r.sequence <= maxSequence && !bySequence.has(r.sequence)) bySequence.set(r.sequence, r);
  return [...bySequence.values()].sort((a, b) => a.sequence - b.sequence);
}

function stateOf(row: CampaignRow, loading: boolean, remaining: number, nowMs: number): CampaignState {
  if (loading || row.status === "loading") return "loading";
  if (nowMs < row.startTime.getTime()) return "scheduled";
  return remaining === 0 ? "sold_out" : "open";
}

export async function requireCampaign(db: Db, id: number): Promise<CampaignRow> {
  const row = await withMysql("cannot read the campaign", () => findCampaign(db, id));
  if (!row) throw notFound(`campaign ${id} does not exist`);
  return row;
}

/**
 * A campaign with every issue so far, read-your-writes: an issue that IssueCoupon returned is
 * either still on the stream or already in MySQL. The stream is read first: the persister
 * deletes an entry only after its MySQL commit, so an entry missing from the stream read is
 * already in the MySQL read that follows.
 */
export async function readCampaign(
  deps: SnapshotDeps,
  id: number,
): Promise<{ view: CampaignView; issues: IssueRow[] }> {
  const row = await requireCampaign(deps.db, id);
  const live = await readRedisSnapshot(deps, id);
  const persisted = await withMysql("cannot read the campaign", () => listIssues(deps.db, id, 0));
  if (!live.present) {
    // Redis holds nothing for this campaign: MySQL is the whole truth.
    const issued = persisted.length;
    const remaining = row.totalCoupons - issued;
    const view = { ...base(row), issued, remaining, persisted: issued, state: stateOf(row, false, remaining, Date.now()) };
    return { view, issues: persisted };
  }
  const issues = mergeIssues(persisted, live.unpersisted, live.issued);
  const persistedCount = persisted.reduce((n, r) => (r.sequence <= live.issued ? n + 1 : n), 0);
  const view: CampaignView = {
    ...base(row),
    issued: live.issued,
    remaining: live.remaining,
    persisted: persistedCount,
    state: stateOf(row, live.loading, live.remaining, live.nowMs),
  };
  return { view, issues };
}

function base(row: CampaignRow) {
  return { id: row.id, name: row.name, startTime: row.startTime, totalCoupons: row.totalCoupons, loaded: row.loaded };
}

/**
 * One page of issues after `afterSequence`. Sequences are dense (1, 2, 3, …), so when MySQL alone
 * returns a full run of consecutive sequences, that is the page and Redis is not read at all.
 */
export async function readIssuesPage(
  deps: SnapshotDeps,
  id: number,
  afterSequence: number,
  pageSize: number,
): Promise<IssueRow[]> {
  await requireCampaign(deps.db, id);
  const fromMysql = await withMysql("cannot list issues", () => listIssues(deps.db, id, afterSequence, pageSize));
  const last = fromMysql[fromMysql.length - 1];
  if (fromMysql.length === pageSize && last && last.sequence === afterSequence + pageSize) return fromMysql;
  const live = await readRedisSnapshot(deps, id);
  if (!live.present) return fromMysql;
  const persisted = await withMysql("cannot list issues", () => listIssues(deps.db, id, afterSequence, pageSize));
  const after = live.unpersisted.filter((r) => r.sequence > afterSequence);
  return mergeIssues(persisted, after, live.issued).slice(0, pageSize);
}
