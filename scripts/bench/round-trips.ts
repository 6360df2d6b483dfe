import { Redis } from "ioredis";
import { homeSubPool, subPoolOfPosition } from "../../src/campaigns/sub-pools.js";
import { IssuePool } from "../loadtest/http/issue-pool.js";
import type { IssueOutcome } from "../loadtest/http/connect-outcome.js";
import { BenchService } from "./bench-service.js";
import { startPrivateRedis } from "./private-redis.js";

/**
 * Redis round trips per IssueCoupon call with a campaign of one pool (K = 1) and of 8 sub-pools
 * (issue 13), counted by Redis itself: INFO commandstats' EVALSHA (and EVAL) calls before and
 * after each phase, divided by the IssueCoupon calls of the phase. Each issue script call is one
 * EVALSHA, so this is the round trips the hot path made; nothing else the service does sends
 * scripts while the phases run (the budget already covers every code; the sweeper's grace is
 * minutes). The service runs on a private Redis with no AOF that nothing else uses, so no other
 * process moves its counters.
 *
 * For each K, on a fresh campaign of COUPONS codes:
 *   (a) issues: COUPONS named callers, one call each, HOT_SHARE of them at home (the service's
 *       routing hash) in the HOT sub-pools of 8, so those run dry early: every call issues and
 *       the last one sells the campaign out;
 *   (b) after the sell-out, anonymous callers;
 *   (c) after the sell-out, named callers who never got a code;
 *   (d) after the sell-out, holders from (a) asking again (each must get its own code back),
 *       every other one in the burst's order, so that those who got their code late, from a
 *       sub-pool their walk reached after their home one had run dry, are among them.
 */
export const COUPONS = 40_000;
export const SHARDS = [1, 8] as const;
/** Sub-pools of 8 that most of the burst's callers hash to. */
export const HOT = [0, 1, 2] as const;
export const HOT_SHARE = 0.6;
/** Calls of each phase after the sell-out. */
export const REFUSAL_CALLS = 20_000;
export const CONNECTIONS = 64;

/** One phase: its calls, how they were answered, and what Redis counted meanwhile. */
export type RoundTripPhase = {
  calls: number;
  ok: number;
  /** Answered sold out (resource_exhausted). */
  soldOut: number;
  /** Any other answer, or none (connection error, timeout). */
  other: number;
  /** EVALSHA + EVAL calls Redis counted during the phase. */
  scripts: number;
  /** scripts ÷ calls. */
  perCall: number;
  /** HSCAN calls during the phase: the pages an instance reads once to build its holders filter. */
  hscans: number;
};

export type RoundTripRun = {
  shards: number;
  burst: RoundTripPhase;
  anonymous: RoundTripPhase;
  named: RoundTripPhase;
  holders: RoundTripPhase;
  /** Holders of (d) whose code came from a sub-pool other than their home one (0 for one pool). */
  holdersWalked: number;
};

export type RoundTripFigures = {
  coupons: number;
  refusalCalls: number;
  connections: number;
  hot: readonly number[];
  hotShare: number;
  /** The service's processes: WORKERS from the environment, else one per core. */
  workers: string;
  redis: string;
  runs: RoundTripRun[];
  /** Answers a correct service never gives (each makes the bench exit 1). */
  violations: string[];
};

export type RoundTripOptions = {
  root: string;
  mysqlUri: string;
  say: (line: string) => void;
  /** Registers a teardown that must run even on Ctrl-C. */
  defer: (task: () => Promise<void>) => void;
};

type Counters = { scripts: number; hscans: number };

/** EVALSHA + EVAL and HSCAN calls so far, from INFO commandstats. */
async function readCounters(redis: Redis): Promise<Counters> {
  const info = await redis.info("commandstats");
  const calls = (cmd: string) => Number(new RegExp(`^cmdstat_${cmd}:calls=(\\d+)`, "m").exec(info)?.[1] ?? 0);
  return { scripts: calls("evalsha") + calls("eval"), hscans: calls("hscan") };
}

/** `count` named callers, HOT_SHARE of them at home in a HOT sub-pool of 8, in random order. */
function skewedCrowd(tag: string, count: number): string[] {
  const hot: string[] = [];
  const cold: string[] = [];
  const wantHot = Math.round(count * HOT_SHARE);
  const hotSet = new Set<number>(HOT);
  for (let i = 0; hot.length < wantHot || cold.length < count - wantHot; i++) {
    const user = `${tag}-${i}`;
    const bucket = hotSet.has(homeSubPool(user, 8)) ? hot : cold;
    if (bucket.length < (bucket === hot ? wantHot : count - wantHot)) bucket.push(user);
  }
  const crowd = [...hot, ...cold];
  for (let i = crowd.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [crowd[i], crowd[j]] = [crowd[j]!, crowd[i]!];
  }
  return crowd;
}

/** Sends one call per user over CONNECTIONS connections, each taking the next user when free. */
async function callAll(pool: IssuePool, campaignId: string, users: readonly string[]): Promise<IssueOutcome[]> {
  const out = new Array<IssueOutcome>(users.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next < users.length) {
        const i = next++;
        out[i] = await pool.issue(campaignId, users[i]!);
      }
    }),
  );
  return out;
}

/** Runs one phase between two readings of Redis's counters. */
async function phase(redis: Redis, pool: IssuePool, campaignId: string, users: readonly string[]): Promise<{ figure: RoundTripPhase; outcomes: IssueOutcome[] }> {
  const before = await readCounters(redis);
  const outcomes = await callAll(pool, campaignId, users);
  const after = await readCounters(redis);
  const ok = outcomes.filter((o) => o.ok).length;
  const soldOut = outcomes.filter((o) => !o.ok && o.error === "resource_exhausted").length;
  const scripts = after.scripts - before.scripts;
  const figure = { calls: users.length, ok, soldOut, other: users.length - ok - soldOut, scripts, perCall: scripts / users.length, hscans: after.hscans - before.hscans };
  return { figure, outcomes };
}

/** One K: a fresh campaign, its burst, then the three kinds of calls after the sell-out. */
async function measureOne(service: BenchService, redis: Redis, shards: number, say: (line: string) => void, violations: string[]): Promise<RoundTripRun> {
  const id = await service.createCampaign(`round trips K=${shards}`, COUPONS, Date.now(), shards);
  await service.waitLoaded([id]);
  const pool = new IssuePool(service.url, { connections: CONNECTIONS, timeoutMs: 30_000 });
  const wrong = (what: string, n: number) => n > 0 && violations.push(`K=${shards}, ${what}: ${n} calls`);
  try {
    await pool.warm();
    const crowd = skewedCrowd(`rt${shards}`, COUPONS);
    const burst = await phase(redis, pool, id, crowd);
    wrong("burst calls without a coupon", COUPONS - burst.figure.ok);
    const codes = new Set(burst.outcomes.flatMap((o) => (o.ok ? [o.code] : [])));
    wrong("codes issued twice in the burst", burst.figure.ok - codes.size);
    say(`K=${shards}: burst of ${COUPONS} skewed callers: ${burst.figure.scripts} scripts, ${burst.figure.perCall.toFixed(3)} per issue`);

    const anonymous = (await phase(redis, pool, id, Array<string>(REFUSAL_CALLS).fill(""))).figure;
    wrong("anonymous calls after the sell-out not answered sold out", REFUSAL_CALLS - anonymous.soldOut);
    const late = Array.from({ length: REFUSAL_CALLS }, (_, i) => `rt${shards}-late-${i}`);
    const named = (await phase(redis, pool, id, late)).figure;
    wrong("named calls without a code after the sell-out not answered sold out", REFUSAL_CALLS - named.soldOut);
    const ownCode = new Map<string, { code: string; sequence: number }>();
    burst.outcomes.forEach((x, i) => x.ok && ownCode.set(crowd[i]!, x));
    const every = Math.max(1, Math.floor(ownCode.size / REFUSAL_CALLS));
    const holders = [...ownCode.keys()].filter((_, i) => i % every === 0).slice(0, REFUSAL_CALLS);
    const holdersWalked = holders.filter((u) => subPoolOfPosition(ownCode.get(u)!.sequence, shards) !== homeSubPool(u, shards)).length;
    const again = await phase(redis, pool, id, holders);
    wrong("holders not given their own code again", again.outcomes.filter((x, i) => !x.ok || x.code !== ownCode.get(holders[i]!)!.code).length);
    for (const [what, f] of [["anonymous", anonymous], ["named, no code", named], ["holders again", again.figure]] as const) {
      say(`K=${shards}: after the sell-out, ${what}: ${f.scripts} scripts for ${f.calls} calls (${f.perCall.toFixed(4)} per call), ${f.hscans} HSCAN`);
    }
    if (shards > 1) say(`K=${shards}: ${holdersWalked} of the ${holders.length} holders asking again got their code away from home`);
    return { shards, burst: burst.figure, anonymous, named, holders: again.figure, holdersWalked };
  } finally {
    pool.close();
  }
}

export async function measureRoundTrips(o: RoundTripOptions): Promise<RoundTripFigures> {
  const redisServer = await startPrivateRedis("none");
  o.defer(() => redisServer.stop());
  const service = await BenchService.start({
    label: "round trips",
    root: o.root,
    serverUri: o.mysqlUri,
    database: "coupons_bench_round_trips",
    redisUrl: redisServer.url,
    prefix: `bench:${process.pid}:round-trips:`,
  });
  o.defer(() => service.stop());
  const redis = new Redis(redisServer.url);
  const violations: string[] = [];
  try {
    o.say(`round trips: service on a private Redis (${redisServer.url}, AOF off); K = ${SHARDS.join(" and ")}, ${COUPONS} codes each`);
    const runs: RoundTripRun[] = [];
    for (const shards of SHARDS) runs.push(await measureOne(service, redis, shards, o.say, violations));
    const workers = process.env.WORKERS ? `WORKERS=${process.env.WORKERS}` : "WORKERS default: one process per core";
    return { coupons: COUPONS, refusalCalls: REFUSAL_CALLS, connections: CONNECTIONS, hot: HOT, hotShare: HOT_SHARE, workers, redis: redisServer.version, runs, violations };
  } finally {
    redis.disconnect();
    await service.stop();
    await redisServer.stop();
  }
}
