import type { Server } from "node:http";
import type { RedisClient } from "../redis/client.js";
import type { RedisKeys } from "../redis/keys.js";

const POLL_MS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Stops accepting connections and lets the requests in flight finish. Keep-alive connections are
 * closed as soon as they fall idle, and requests that arrive on them meanwhile are answered with
 * `Connection: close`, so clients move to another instance instead of waiting. At `deadlineMs`
 * (a `Date.now()` instant) whatever is still open is cut. Resolves true when everything finished.
 */
export async function drainHttp(server: Server, deadlineMs: number): Promise<boolean> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.on("request", (_req, res) => {
    res.shouldKeepAlive = false;
  });
  let done = false;
  void closed.then(() => (done = true));
  while (!done && Date.now() < deadlineMs) {
    server.closeIdleConnections();
    await Promise.race([closed, sleep(POLL_MS)]);
  }
  if (!done) server.closeAllConnections();
  await closed;
  return done;
}

/** Redis's clock, in ms: stream entry ids are stamped with it. */
export async function redisNowMs(redis: RedisClient): Promise<number> {
  const [sec, micro] = await redis.time();
  return Number(sec) * 1000 + Math.floor(Number(micro) / 1000);
}

/**
 * Waits until no campaign stream holds an issue stamped at or before `cutoffMs`, i.e. until the
 * persisters (this one and any other instance's) have written to MySQL every issue answered
 * before the cut-off; or until `deadlineMs`, or until `givingUp()` says waiting is pointless (the
 * persister is failing: MySQL is down). Returns how many such issues were still waiting (0 when
 * all were persisted); those stay on the streams for the next persister to write.
 */
export async function waitForIssuesPersisted(
  redis: RedisClient,
  keys: RedisKeys,
  cutoffMs: number,
  deadlineMs: number,
  givingUp: () => boolean = () => false,
): Promise<number> {
  for (;;) {
    const ids = await redis.smembers(keys.activeCampaigns);
    // One XRANGE per campaign: on a Redis Cluster, different campaigns live on different slots.
    const pending = await Promise.all(
      ids.map((id) => redis.xrange(keys.campaign(id).stream, "-", `${cutoffMs}`, "COUNT", 1000)),
    );
    const waiting = pending.reduce((n, entries) => n + entries.length, 0);
    if (waiting === 0 || Date.now() >= deadlineMs || givingUp()) return waiting;
    await sleep(POLL_MS);
  }
}
