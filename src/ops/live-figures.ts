import { execMulti } from "../redis/multi.js";
import type { RedisClient } from "../redis/client.js";
import { parseSubPoolMember, type RedisKeys } from "../redis/keys.js";
import type { LiveFigures } from "./metrics.js";

/** Milliseconds of a stream entry id `ms-seq`. */
function idMs(id: string): number {
  return Number(id.slice(0, id.indexOf("-")));
}

/**
 * Pool sizes and persister lag of every campaign the persisters watch, read at scrape time
 * (never on a request path): one pipeline per campaign, all sent at once. Per campaign because a
 * campaign's keys share one hash slot and different campaigns need not, on a Redis Cluster. A
 * campaign counts as open when its pool is loaded, Redis's clock has passed its start instant and
 * codes are left. The lag is what is still on the streams: the persister deletes an entry only
 * once MySQL has it.
 *
 * The watch list names sub-pools ("42", "42.1", …: src/redis/keys.ts), so a campaign split into
 * sub-pools is read sub-pool by sub-pool (each its own slot) and reported as one campaign, by its
 * id: its pool is what its open sub-pools hold together, its lag what all its streams hold, aged
 * by the oldest entry on any of them.
 */
export async function readLiveFigures(redis: RedisClient, keys: RedisKeys): Promise<LiveFigures> {
  const [ids, [sec, micro]] = await Promise.all([redis.smembers(keys.activeCampaigns), redis.time()]);
  const nowMs = Number(sec) * 1000 + Math.floor(Number(micro) / 1000);
  const perCampaign = await Promise.all(
    ids.map((id) => {
      const k = keys.campaign(id);
      return execMulti(
        redis.pipeline().hmget(k.meta, "state", "start_ms").llen(k.pool).xlen(k.stream).xrange(k.stream, "-", "+", "COUNT", 1),
      );
    }),
  );

  const poolRemaining = new Map<string, number>();
  const lagByCampaign = new Map<string, { entries: number; oldestSeconds: number }>();
  let lagEntries = 0;
  let oldestMs = Infinity;
  perCampaign.forEach((values, i) => {
    const [[state, startMs], remaining, pending, first] = values as [
      [string | null, string | null],
      number,
      number,
      Array<[string, string[]]>,
    ];
    const campaign = String(parseSubPoolMember(ids[i]!).campaignId);
    if (state === "ready" && nowMs >= Number(startMs) && remaining > 0) {
      poolRemaining.set(campaign, (poolRemaining.get(campaign) ?? 0) + remaining);
    }
    lagEntries += pending;
    if (first[0]) {
      oldestMs = Math.min(oldestMs, idMs(first[0][0]));
      const ageSeconds = Math.max(0, (nowMs - idMs(first[0][0])) / 1000);
      const sum = lagByCampaign.get(campaign);
      lagByCampaign.set(campaign, {
        entries: (sum?.entries ?? 0) + pending,
        oldestSeconds: Math.max(sum?.oldestSeconds ?? 0, ageSeconds),
      });
    }
  });
  const lagOldestSeconds = oldestMs === Infinity ? 0 : Math.max(0, (nowMs - oldestMs) / 1000);
  return { poolRemaining, lagEntries, lagOldestSeconds, lagByCampaign };
}
