import type { RedisClient } from "../redis/client.js";
import type { RedisKeys } from "../redis/keys.js";
import type { LiveFigures } from "./metrics.js";

/** Milliseconds of a stream entry id `ms-seq`. */
function idMs(id: string): number {
  return Number(id.slice(0, id.indexOf("-")));
}

/**
 * Pool sizes and persister lag of every campaign the persisters watch, in one pipelined round
 * trip per scrape (never on a request path). A campaign counts as open when its pool is loaded,
 * Redis's clock has passed its start instant and codes are left. The lag is what is still on the
 * streams: the persister deletes an entry only once MySQL has it.
 */
export async function readLiveFigures(redis: RedisClient, keys: RedisKeys): Promise<LiveFigures> {
  const ids = await redis.smembers(keys.activeCampaigns);
  const p = redis.pipeline().time();
  for (const id of ids) {
    const k = keys.campaign(id);
    p.hmget(k.meta, "state", "start_ms").llen(k.pool).xlen(k.stream).xrange(k.stream, "-", "+", "COUNT", 1);
  }
  const replies = (await p.exec()) ?? [];
  const values = replies.map(([err, v]) => {
    if (err) throw err;
    return v;
  });
  const [sec, micro] = values[0] as [string, string];
  const nowMs = Number(sec) * 1000 + Math.floor(Number(micro) / 1000);

  const poolRemaining = new Map<string, number>();
  let lagEntries = 0;
  let oldestMs = Infinity;
  ids.forEach((id, i) => {
    const at = 1 + i * 4;
    const [state, startMs] = values[at] as [string | null, string | null];
    const remaining = values[at + 1] as number;
    const pending = values[at + 2] as number;
    const first = values[at + 3] as Array<[string, string[]]>;
    if (state === "ready" && nowMs >= Number(startMs) && remaining > 0) poolRemaining.set(id, remaining);
    lagEntries += pending;
    if (first[0]) oldestMs = Math.min(oldestMs, idMs(first[0][0]));
  });
  const lagOldestSeconds = oldestMs === Infinity ? 0 : Math.max(0, (nowMs - oldestMs) / 1000);
  return { poolRemaining, lagEntries, lagOldestSeconds };
}
