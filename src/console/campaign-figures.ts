import { desc, inArray } from "drizzle-orm";
import type { Logger } from "pino";
import { campaignStateOf, readCampaignView, type CampaignState, type SnapshotDeps } from "../campaigns/campaign-snapshot.js";
import type { CampaignRow } from "../campaigns/repository.js";
import { combinedSubPoolState } from "../campaigns/sub-pool-issues.js";
import { withMysql, withRedis } from "../db/errors.js";
import { campaigns } from "../db/schema.js";
import { AppError } from "../errors.js";
import { execMulti } from "../redis/multi.js";
import { LiveFeed, type LiveFeedOptions } from "./live-feed.js";

/** What the console shows of one campaign at one instant. Counts as GetCampaign reports them. */
export type CampaignFigures = {
  id: number;
  name: string;
  state: CampaignState;
  total: number;
  issued: number;
  remaining: number;
  /** Codes generated and loaded so far (equals `total` once loaded). */
  loaded: number;
  voided: number;
  quarantined: number;
  startMs: number;
  /** Null for a campaign that runs until sold out. */
  endMs: number | null;
  /** Issues still on the campaign's stream, not yet written to MySQL. */
  lagEntries: number;
  /** Age of the oldest of those, in seconds (0 when none). */
  lagSeconds: number;
  /** When the figures were read, by Redis's clock (ms); the issue rate is computed from it. */
  atMs: number;
};

/** Milliseconds of a stream entry id `ms-seq`. */
function idMs(id: string): number {
  return Number(id.slice(0, id.indexOf("-")));
}

/** Ids of the newest campaigns, newest first. */
export async function newestCampaignIds(deps: SnapshotDeps, limit: number): Promise<number[]> {
  const rows = await withMysql("cannot list campaigns", () =>
    deps.db.select({ id: campaigns.id }).from(campaigns).orderBy(desc(campaigns.id)).limit(limit),
  );
  return rows.map((r) => r.id);
}

/**
 * How long the figures of a campaign that Redis no longer holds live are reused, in ms. Those come
 * from MySQL counts (what GetCampaign answers then) and no longer move: a list of old campaigns
 * must not cost a COUNT over each one's issues every second.
 */
const CLOSED_FIGURES_TTL_MS = 10_000;

/**
 * Reads the console's figures of campaigns at once: one MySQL query for their rows, then one
 * MULTI per campaign (one hash slot each on a Redis Cluster; one per sub-pool for a campaign split
 * into several) of O(1) commands only. GetCampaign's
 * own read (`readCampaignView`) takes the whole stream with XRANGE, which during a burst with a
 * lagging persister is thousands of entries on the Redis that serves IssueCoupon; here the stream
 * is only measured (XLEN and its first entry). Unknown ids are left out of the answer.
 */
export function campaignFiguresReader(deps: SnapshotDeps): (ids: readonly number[]) => Promise<Map<number, CampaignFigures>> {
  const closed = new Map<number, { figures: CampaignFigures; readAtMs: number }>();

  return async (ids) => {
    const out = new Map<number, CampaignFigures>();
    if (ids.length === 0) return out;
    const rows = await withMysql("cannot read campaigns", () =>
      deps.db.select().from(campaigns).where(inArray(campaigns.id, [...ids])),
    );
    const live = await withRedis("cannot read live figures", () => Promise.all(rows.map((row) => readLive(deps, row))));
    await Promise.all(
      rows.map(async (row, i) => {
        const redis = live[i]!;
        const atMs = redis.atMs;
        if (redis.present) {
          closed.delete(row.id);
          out.set(row.id, {
            ...facts(row),
            state: campaignStateOf(row, redis.state, redis.remaining, atMs),
            issued: redis.issued,
            remaining: redis.remaining,
            lagEntries: redis.lagEntries,
            lagSeconds: Math.max(0, (atMs - (redis.oldestMs ?? atMs)) / 1000),
            atMs,
          });
          return;
        }
        // Redis holds nothing live for it: MySQL is the whole truth, exactly as GetCampaign reads it.
        const cached = closed.get(row.id);
        if (cached && Date.now() - cached.readAtMs < CLOSED_FIGURES_TTL_MS) {
          // The row is fresh: loading progress and the lifecycle facts still show at once.
          out.set(row.id, { ...cached.figures, ...facts(row), atMs });
          return;
        }
        const view = await readCampaignView(deps, row.id);
        const figures: CampaignFigures = {
          ...facts(row),
          state: view.state,
          issued: view.issued,
          remaining: view.remaining,
          lagEntries: 0,
          lagSeconds: 0,
          atMs,
        };
        closed.set(row.id, { figures, readAtMs: Date.now() });
        out.set(row.id, figures);
      }),
    );
    // Forget campaigns nobody asked about for a while (deleted or scrolled off the list).
    for (const [id, c] of closed) if (Date.now() - c.readAtMs > 6 * CLOSED_FIGURES_TTL_MS) closed.delete(id);
    return out;
  };
}

/** One campaign's live figures in Redis, over all its sub-pools. */
type LiveRead = {
  /** Every sub-pool's keys are live (not lost, not released). */
  present: boolean;
  state: string | null;
  issued: number;
  remaining: number;
  lagEntries: number;
  /** Stamp of the oldest entry on any of its streams; undefined when none. */
  oldestMs: number | undefined;
  atMs: number;
};

/**
 * One MULTI per sub-pool (its own hash slot), all at once, summed: a campaign split into K
 * sub-pools shows as one campaign, its state as the sub-pools' states together
 * (combinedSubPoolState), as GetCampaign reports it.
 */
async function readLive(deps: SnapshotDeps, row: CampaignRow): Promise<LiveRead> {
  const pools = row.shards === 1 ? [deps.keys.campaign(row.id)] : deps.keys.subPools(row.id, row.shards);
  const reads = await Promise.all(
    pools.map(async (k) => {
      const [[state, issued, releasedMs], remaining, lagEntries, first, [sec, micro]] = (await execMulti(
        deps.bulkRedis
          .multi()
          .hmget(k.meta, "state", "issued", "released_ms")
          .llen(k.pool)
          .xlen(k.stream)
          .xrange(k.stream, "-", "+", "COUNT", 1)
          .time(),
      )) as [Array<string | null>, number, number, Array<[string, string[]]>, [string, string]];
      return {
        state: state ?? null,
        live: state !== null && releasedMs === null,
        issued: Number(issued ?? 0),
        remaining,
        lagEntries,
        oldestMs: first[0] ? idMs(first[0][0]) : undefined,
        atMs: Number(sec) * 1000 + Math.floor(Number(micro) / 1000),
      };
    }),
  );
  const oldest = reads.flatMap((r) => (r.oldestMs === undefined ? [] : [r.oldestMs]));
  return {
    present: reads.every((r) => r.live),
    state: reads.length === 1 ? reads[0]!.state : combinedSubPoolState(reads.map((r) => r.state)),
    issued: reads.reduce((n, r) => n + r.issued, 0),
    remaining: reads.reduce((n, r) => n + r.remaining, 0),
    lagEntries: reads.reduce((n, r) => n + r.lagEntries, 0),
    oldestMs: oldest.length === 0 ? undefined : Math.min(...oldest),
    atMs: reads[0]!.atMs,
  };
}

function facts(row: CampaignRow) {
  return {
    id: row.id,
    name: row.name,
    total: row.totalCoupons,
    loaded: row.loaded,
    voided: row.voided,
    quarantined: row.quarantined,
    startMs: row.startTime.getTime(),
    endMs: row.endTime ? row.endTime.getTime() : null,
  };
}

/**
 * The process's one live feed for the console, reading through `campaignFiguresReader`. A failed
 * read is told to the pages as a sentence: the service's own (AppError) or a generic one, never
 * a driver's message; the details go to the log.
 */
export function createConsoleFeed(deps: SnapshotDeps & { logger: Logger }, options: Partial<LiveFeedOptions> = {}): LiveFeed {
  const read = campaignFiguresReader(deps);
  return new LiveFeed(
    { newestIds: (limit) => newestCampaignIds(deps, limit), read },
    {
      describeError: (err) => {
        deps.logger.debug({ err }, "console: cannot read the live figures");
        return err instanceof AppError ? err.message : "the live figures cannot be read right now (see the service log)";
      },
      ...options,
    },
  );
}
