import type { Logger } from "pino";
import type { AppError } from "../errors.js";
import type { RedisClient } from "../redis/client.js";
import type { RedisKeys } from "../redis/keys.js";
import { campaignNotStarted, campaignSoldOut } from "../lifecycle/errors.js";
import { HoldersFilter } from "./holders-filter.js";
import type { RedisClock } from "./redis-clock.js";

/**
 * What this instance already knows about campaigns that refuse, so that their refusals cost no
 * Redis round trip: in a flash sale most calls arrive after the sell-out, or before the start.
 * Only where it cannot be wrong:
 *   - sold out: a pool never refills except through a rebuild, so "sold out" stays true; an
 *     entry is trusted for at most one second after the Redis answer that made it, then the next
 *     call asks Redis again (after a rebuild, an instance refuses for at most one more second);
 *     an anonymous caller is refused from it, a named caller only when the holders filter says
 *     they certainly hold no code (a holder always gets their code back from Redis);
 *   - not started: only while Redis's clock, as this instance measures it (RedisClock), is
 *     certainly before the start; close to the start instant Redis decides, as before.
 * Each refusal is one prebuilt error, thrown again: nothing is allocated per refused call.
 */
const TRUST_MS = 1000;
/** How far before the start a local "not started" stops: Redis decides the last stretch. */
const START_MARGIN_MS = 100;

type SoldOut = {
  error: AppError;
  /** performance.now() of the Redis answer this rests on. */
  seenAt: number;
  /** `issued` at the sell-out; the holders filter is built for exactly this count. */
  issued: number;
  holders: Holders | undefined;
  building: boolean;
};
type NotStarted = { error: AppError; seenAt: number; startMs: number };
/** One sub-pool of a campaign split into several, seen empty (src/issue/sub-pool-walk.ts). */
type EmptySubPool = { seenAt: number; issued: number; holders: HoldersFilter | undefined; building: boolean };
type Holders = Pick<HoldersFilter, "mayHold">;

/**
 * The holders of a sold-out campaign split into sub-pools: those of its sub-pools' own filters,
 * read when each emptied. Reading every holder again for one campaign-wide filter would double
 * the sell-out's HSCAN load on Redis (docs/scale.md); a sub-pool whose filter is not (yet) there
 * makes every named caller a maybe, who then asks Redis.
 */
class SubPoolHolders implements Holders {
  constructor(private readonly pools: ReadonlyArray<EmptySubPool | undefined>) {}

  mayHold(user: string): boolean {
    for (const e of this.pools) if (e?.holders === undefined || e.holders.mayHold(user)) return true;
    return false;
  }
}

export class RefusalMemo {
  private readonly soldOut = new Map<number, SoldOut>();
  private readonly notStarted = new Map<number, NotStarted>();
  private readonly emptySubPools = new Map<number, Array<EmptySubPool | undefined>>();

  constructor(
    private readonly bulkRedis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly clock: RedisClock,
    private readonly logger: Logger,
  ) {}

  /** The refusal this instance may give without Redis, or undefined: ask Redis. */
  refusal(campaignId: number, userId: string): AppError | undefined {
    const now = performance.now();
    const sold = this.soldOut.get(campaignId);
    if (sold && now - sold.seenAt < TRUST_MS) {
      if (userId === "" || (sold.holders !== undefined && !sold.holders.mayHold(userId))) return sold.error;
      return undefined;
    }
    const early = this.notStarted.get(campaignId);
    if (early && now - early.seenAt < TRUST_MS && this.clock.certainlyBefore(early.startMs, START_MARGIN_MS)) return early.error;
    return undefined;
  }

  /**
   * Redis answered sold out, with `issued` codes issued in all; `subPools`, for a campaign split
   * into sub-pools, are their entries, whose holders filters stand in for the campaign's.
   */
  sawSoldOut(campaignId: number, issued: number, subPools?: ReadonlyArray<EmptySubPool | undefined>): void {
    this.notStarted.delete(campaignId);
    const known = this.soldOut.get(campaignId);
    if (known && known.issued === issued) {
      known.seenAt = performance.now();
      return;
    }
    const holders = subPools && new SubPoolHolders(subPools);
    const entry: SoldOut = { error: campaignSoldOut(campaignId), seenAt: performance.now(), issued, holders, building: false };
    this.soldOut.set(campaignId, entry);
    if (holders) return;
    const users = [this.keys.campaign(campaignId).users];
    void this.buildHolders(campaignId, entry, users, (filter) => this.soldOut.get(campaignId) === entry && (entry.holders = filter));
  }

  /**
   * Whether a call may pass over sub-pool `sub` of a campaign split into sub-pools without asking
   * it: seen empty within the trust window, and the caller is anonymous or certainly holds no
   * code from it. Passing over the sub-pool that holds a named caller's code would pop a second
   * one further on; the holders filter has no false negatives, so that never happens.
   */
  skipsSubPool(campaignId: number, sub: number, userId: string): boolean {
    const e = this.emptySubPools.get(campaignId)?.[sub];
    if (e === undefined || performance.now() - e.seenAt >= TRUST_MS) return false;
    return userId === "" || (e.holders !== undefined && !e.holders.mayHold(userId));
  }

  /** Sub-pool `sub` answered sold out, with `issued` codes issued from it. */
  sawSubPoolEmpty(campaignId: number, sub: number, shards: number, issued: number): void {
    let pools = this.emptySubPools.get(campaignId);
    if (pools === undefined || pools.length !== shards) {
      pools = new Array<EmptySubPool | undefined>(shards).fill(undefined);
      this.emptySubPools.set(campaignId, pools);
    }
    const known = pools[sub];
    if (known && known.issued === issued) {
      known.seenAt = performance.now();
      return;
    }
    const entry: EmptySubPool = { seenAt: performance.now(), issued, holders: undefined, building: false };
    pools[sub] = entry;
    const users = [this.keys.subPool(campaignId, sub).users];
    // Once sold out, a named caller is asked of every sub-pool's filter: each gets 1/K of the rate.
    void this.buildHolders(campaignId, entry, users, (filter) => pools[sub] === entry && (entry.holders = filter), 0.01 / shards);
  }

  /** A walk met every sub-pool empty (or passed it as known empty): the campaign is sold out. */
  sawAllSubPoolsEmpty(campaignId: number, shards: number): void {
    const pools = this.emptySubPools.get(campaignId) ?? new Array<undefined>(shards).fill(undefined);
    this.sawSoldOut(campaignId, pools.reduce((sum, e) => sum + (e?.issued ?? 0), 0), pools);
  }

  /** Redis answered not started, with the start instant by its clock. */
  sawNotStarted(campaignId: number, startMs: number): void {
    const known = this.notStarted.get(campaignId);
    if (known && known.startMs === startMs) {
      known.seenAt = performance.now();
      return;
    }
    this.notStarted.set(campaignId, { error: campaignNotStarted(campaignId, startMs), seenAt: performance.now(), startMs });
  }

  /**
   * Reads the holders once (HSCAN of each users hash on the bulk connection, off the hot path)
   * into a filter, and hands it to `install`, which keeps it only if the entry is still the
   * current one (a rebuild that issued again makes a new entry).
   */
  private async buildHolders(
    campaignId: number,
    entry: { issued: number; building: boolean },
    usersKeys: readonly string[],
    install: (filter: HoldersFilter) => unknown,
    falsePositives?: number,
  ): Promise<void> {
    if (entry.building) return;
    entry.building = true;
    try {
      const filter = new HoldersFilter(entry.issued, falsePositives);
      for (const users of usersKeys) {
        let cursor = "0";
        do {
          const [next, fields] = await this.bulkRedis.hscan(users, cursor, "COUNT", 2000);
          for (let i = 0; i < fields.length; i += 2) filter.add(fields[i]!);
          cursor = next;
        } while (cursor !== "0");
      }
      install(filter);
    } catch (err) {
      this.logger.debug({ err, campaignId }, "could not read a sold-out campaign's holders; named callers keep asking Redis");
    } finally {
      entry.building = false;
    }
  }
}
