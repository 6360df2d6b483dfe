import { readFileSync } from "node:fs";
import type { RedisClient } from "./client.js";
import type { ScriptPipe } from "./script-pipe.js";

/**
 * The one place that registers Lua scripts on a connection. Each script is a `.lua` file beside
 * the code that uses it; ioredis's `defineCommand` sends EVALSHA and falls back to EVAL when
 * Redis answers NOSCRIPT (after a restart or SCRIPT FLUSH).
 */
/** `numberOfKeys` absent: the caller passes the number of keys first (a variable key list). */
type ScriptDef = { name: string; numberOfKeys?: number; file: URL };

export const ISSUE_SCRIPT_FILE = new URL("../issue/issue-coupon.lua", import.meta.url);

export const ACK_ISSUES_SCRIPT_FILE = new URL("../persist/ack-issues.lua", import.meta.url);

const SCRIPTS: readonly ScriptDef[] = [
  // One script, two arities: without rate limits IssueCoupon sends only the four campaign keys.
  { name: "issueCoupon", numberOfKeys: 4, file: ISSUE_SCRIPT_FILE },
  { name: "issueCouponLimited", numberOfKeys: 6, file: ISSUE_SCRIPT_FILE },
  // A sub-pool of a campaign split into several (src/issue/sub-pool-walk.ts): limits off, K last.
  { name: "issueCouponSharded", numberOfKeys: 4, file: ISSUE_SCRIPT_FILE },
  { name: "countCall", numberOfKeys: 1, file: new URL("../issue/count-call.lua", import.meta.url) },
  { name: "setCampaignState", numberOfKeys: 1, file: new URL("../lifecycle/set-state.lua", import.meta.url) },
  { name: "releaseCampaignKeys", numberOfKeys: 4, file: new URL("../lifecycle/release-keys.lua", import.meta.url) },
  { name: "startFill", file: new URL("../campaigns/start-fill.lua", import.meta.url) },
  { name: "pushCodes", numberOfKeys: 2, file: new URL("../campaigns/push-codes.lua", import.meta.url) },
  { name: "finishFill", numberOfKeys: 1, file: new URL("../campaigns/finish-fill.lua", import.meta.url) },
  { name: "raiseBudget", numberOfKeys: 1, file: new URL("../campaigns/raise-budget.lua", import.meta.url) },
  { name: "ackIssues", numberOfKeys: 1, file: ACK_ISSUES_SCRIPT_FILE },
];

/** Raw replies; decoded by the module that owns each script. */
export type ScriptCommands = {
  issueCoupon(meta: string, pool: string, users: string, stream: string, userId: string): Promise<unknown[]>;
  issueCouponLimited(
    meta: string,
    pool: string,
    users: string,
    stream: string,
    userRate: string,
    ipRate: string,
    userId: string,
    userLimit: number,
    ipLimit: number,
    windowMs: number,
    shards?: number,
  ): Promise<unknown[]>;
  issueCouponSharded(
    meta: string,
    pool: string,
    users: string,
    stream: string,
    userId: string,
    userLimit: 0,
    ipLimit: 0,
    windowMs: 0,
    shards: number,
  ): Promise<unknown[]>;
  countCall(counter: string, limit: number, windowMs: number): Promise<number>;
  setCampaignState(meta: string, target: "paused" | "ready" | "cancelled"): Promise<number[]>;
  releaseCampaignKeys(meta: string, pool: string, users: string, stream: string, owners: number): Promise<number[]>;
  startFill(numberOfKeys: number, ...keysThenArgs: Array<string | number>): Promise<number>;
  pushCodes(meta: string, pool: string, fence: number, after: number, upto: number, ...codes: string[]): Promise<number>;
  finishFill(meta: string, fence: number, mark: number, kind: string, ...fields: Array<string | number>): Promise<number>;
  raiseBudget(meta: string, allowance: number): Promise<number>;
  ackIssues(stream: string, group: string, ...ids: string[]): Promise<number>;
};

export type ScriptedRedis = RedisClient & ScriptCommands;

export function registerScripts(redis: RedisClient): ScriptedRedis {
  for (const s of SCRIPTS) {
    const lua = readFileSync(s.file, "utf8");
    redis.defineCommand(s.name, s.numberOfKeys === undefined ? { lua } : { numberOfKeys: s.numberOfKeys, lua });
  }
  return redis as ScriptedRedis;
}

/**
 * Sends the issue script's three arities through `pipe` (./script-pipe.ts), a connection of its
 * own with a cheaper client than ioredis, instead of `redis`; same keys, arguments and replies.
 */
export function runIssueScriptsThrough(redis: ScriptedRedis, pipe: ScriptPipe): void {
  const limits = (userId: string, userLimit: number, ipLimit: number, windowMs: number, shards?: number) =>
    shards === undefined
      ? [userId, String(userLimit), String(ipLimit), String(windowMs)]
      : [userId, String(userLimit), String(ipLimit), String(windowMs), String(shards)];
  redis.issueCoupon = (meta, pool, users, stream, userId) => pipe.run([meta, pool, users, stream], [userId]);
  redis.issueCouponLimited = (meta, pool, users, stream, userRate, ipRate, userId, userLimit, ipLimit, windowMs, shards) =>
    pipe.run([meta, pool, users, stream, userRate, ipRate], limits(userId, userLimit, ipLimit, windowMs, shards));
  redis.issueCouponSharded = (meta, pool, users, stream, userId, userLimit, ipLimit, windowMs, shards) =>
    pipe.run([meta, pool, users, stream], limits(userId, userLimit, ipLimit, windowMs, shards));
}
