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
    // Members name sub-pools ("42", "42.1", …), each with its own stream: keys.campaign(member)
    // is that sub-pool's keys, so every stream of a campaign split into sub-pools is waited for.
    const ids = await redis.smembers(keys.activeCampaigns);
    // One XRANGE per stream: on a Redis Cluster, different campaigns and sub-pools live on different slots.
    const pending = await Promise.all(
      ids.map((id) => redis.xrange(keys.campaign(id).stream, "-", `${cutoffMs}`, "COUNT", 1000)),
    );
    const waiting = pending.reduce((n, entries) => n + entries.length, 0);
    if (waiting === 0 || Date.now() >= deadlineMs || givingUp()) return waiting;
    await sleep(POLL_MS);
  }
}

/** What the cluster primary sends a worker: stop gracefully, or exit at once (a second Ctrl-C). */
export type StopOrder = { type: "stop"; reason: string } | { type: "exit-now"; reason: string };

/**
 * A signal repeated within this long is the same stop delivered twice, not a person asking again,
 * in ms: a terminal's Ctrl-C reaches the whole process group, and `npm start` forwards its own copy.
 */
export const REPEATED_SIGNAL_MS = 500;

const STOP_SIGNALS = ["SIGINT", "SIGTERM"] as const;

/**
 * Listens for the order to stop, from the moment it is called. Standalone (no cluster primary):
 * SIGINT or SIGTERM; a second one, later than REPEATED_SIGNAL_MS after the first, exits at once.
 * Under a primary, a worker takes its orders from the primary alone (`StopOrder` messages): the
 * copies of SIGINT a process group delivers are ignored, so Ctrl-C cannot count twice and cut
 * requests in flight; a primary that is gone is an order to stop. Resolves with the reason of
 * the first order; `exitNow` is called for an order to exit at once.
 */
export function listenForStop(opts: {
  underPrimary: boolean;
  logger: { info(o: object, m: string): void; warn(o: object, m: string): void; debug(o: object, m: string): void };
  exitNow: () => void;
}): Promise<string> {
  return new Promise((resolve) => {
    let firstAtMs: number | undefined;
    const stop = (reason: string) => {
      if (firstAtMs === undefined) {
        firstAtMs = Date.now();
        resolve(reason);
      }
    };
    if (opts.underPrimary) {
      for (const signal of STOP_SIGNALS) {
        process.on(signal, () => opts.logger.debug({ signal }, "signal ignored: a worker stops when its primary says so"));
      }
      process.on("message", (m: StopOrder) => {
        if (m?.type === "stop") stop(m.reason);
        else if (m?.type === "exit-now") {
          opts.logger.warn({ reason: m.reason }, "the primary says exit now");
          opts.exitNow();
        }
      });
      // A worker whose primary is gone must not live on unsupervised.
      process.on("disconnect", () => stop("primary gone"));
      return;
    }
    for (const signal of STOP_SIGNALS) {
      process.on(signal, () => {
        if (firstAtMs === undefined) return stop(signal);
        if (Date.now() - firstAtMs < REPEATED_SIGNAL_MS) {
          opts.logger.debug({ signal }, "the same stop delivered twice; still stopping gracefully");
          return;
        }
        opts.logger.warn({ signal }, "second signal while shutting down; exiting now");
        opts.exitNow();
      });
    }
  });
}
