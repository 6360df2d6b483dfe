/**
 * What ONE Redis does with the real issue script (issue 13, docs/scale.md): the per-shard rate
 * that sizing a campaign over a Redis Cluster starts from. No service and no HTTP: callers on a
 * few auto-pipelined connections (as the service's issue connection is) run
 * src/issue/issue-coupon.lua, read from disk at start, in the 4-keys + 1-arg form IssueCoupon
 * uses with rate limits off.
 *
 *   (a) issues:   a full pool, a new user id per call, until the pool is empty or time is up;
 *   (b) refusals: the pool empty, the script answers sold out (named callers, then anonymous).
 *
 * `--sub-pools K` (K > 1) makes the campaign one sub-pool of K (its meta hash names K and sub 0)
 * and sends each call as the sub-pool walk does (src/issue/sub-pool-walk.ts: rate limits off,
 * ARGV user, 0, 0, 0, K): what one master runs per call once a campaign is split.
 *
 * The generator shares this machine's cores with redis-server, so besides calls/s it prints
 * redis-server's own CPU per call (INFO cpu before and after): 1 s ÷ that is what one Redis core
 * would take with the callers elsewhere.
 *
 *   npx tsx scripts/bench/shard-script-rate.ts [--redis redis://127.0.0.1:6379/14] [--seconds 5]
 *     [--codes 300000] [--connections 4] [--inflight 200] [--sub-pools 1]
 *
 * Its keys live under a prefix of its own with one hash tag, and are deleted at the end.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { encodeCode } from "../../src/codes/code-format.js";

const SCRIPT = new URL("../../src/issue/issue-coupon.lua", import.meta.url);

type Conn = Redis & { issueCoupon(meta: string, pool: string, users: string, stream: string, userId: string, ...walk: number[]): Promise<unknown[]> };
type Keys = { meta: string; pool: string; users: string; stream: string };
type Counters = { cpuS: number; netIn: number; netOut: number };
type Phase = { name: string; calls: number; seconds: number; redis: Counters; generatorCpuS: number; statuses: Map<number, number> };

const { values: opts } = parseArgs({
  options: {
    redis: { type: "string", default: "redis://127.0.0.1:6379/14" },
    seconds: { type: "string", default: "5" },
    codes: { type: "string", default: "300000" },
    connections: { type: "string", default: "4" },
    inflight: { type: "string", default: "200" },
    "sub-pools": { type: "string", default: "1" },
  },
});
const SECONDS = Number(opts.seconds);
const CODES = Number(opts.codes);
const CONNECTIONS = Number(opts.connections);
const INFLIGHT = Number(opts.inflight);
const SUB_POOLS = Number(opts["sub-pools"]);
/** The arguments after the user id: none for a campaign of one pool (the 4-keys + 1-arg form). */
const WALK_ARGS = SUB_POOLS > 1 ? [0, 0, 0, SUB_POOLS] : [];

/** The service's key shapes (src/redis/keys.ts), under a prefix nobody else uses: one slot. */
function campaignKeys(prefix: string): Keys {
  const base = `${prefix}cp:{1}:`;
  return { meta: `${base}meta`, pool: `${base}pool`, users: `${base}users`, stream: `${base}stream` };
}

/** Connections as the service's issue connection: auto-pipelined, the script by EVALSHA. */
function connect(url: string): Conn {
  const redis = new Redis(url, { enableAutoPipelining: true, connectionName: "bench-shard-script-rate" });
  redis.defineCommand("issueCoupon", { numberOfKeys: 4, lua: readFileSync(SCRIPT, "utf8") });
  return redis as Conn;
}

/** A campaign the script will issue from: ready, started a minute ago, budget = total (never -8). */
async function fillCampaign(redis: Redis, k: Keys, codes: number): Promise<void> {
  const split = SUB_POOLS > 1 ? { shards: SUB_POOLS, sub: 0 } : {};
  await redis.hset(k.meta, { state: "ready", start_ms: Date.now() - 60_000, issued: 0, total: codes, allow: codes, ...split });
  // Real-shaped codes (7 characters, 17 bytes of UTF-8), so bytes per call are the real ones.
  for (let from = 0; from < codes; from += 10_000) {
    const chunk = Array.from({ length: Math.min(10_000, codes - from) }, (_, i) => encodeCode(0, from + i));
    await redis.rpush(k.pool, ...chunk);
  }
}

/** redis-server's CPU (all its threads) and bytes on the wire, as INFO reports them. */
async function counters(redis: Redis): Promise<Counters> {
  const info = await redis.info();
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)?.[1] ?? NaN);
  return {
    cpuS: field("used_cpu_user") + field("used_cpu_sys"),
    netIn: field("total_net_input_bytes"),
    netOut: field("total_net_output_bytes"),
  };
}

/**
 * INFLIGHT callers per connection, each sending its next call when the last is answered, until
 * time is up or `stopOn` says so. The difference of the counters around it is the phase's cost.
 */
async function drive(name: string, conns: Conn[], k: Keys, user: (n: number) => string, stopOn: (status: number) => boolean): Promise<Phase> {
  const statuses = new Map<number, number>();
  let calls = 0;
  let stopped = false;
  const before = await counters(conns[0]!);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + SECONDS * 1000;
  const caller = async (conn: Conn) => {
    while (!stopped && performance.now() < deadline) {
      const status = (await conn.issueCoupon(k.meta, k.pool, k.users, k.stream, user(calls++), ...WALK_ARGS))[0] as number;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (stopOn(status)) stopped = true;
    }
  };
  await Promise.all(conns.flatMap((c) => Array.from({ length: INFLIGHT }, () => caller(c))));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const after = await counters(conns[0]!);
  const redis = { cpuS: after.cpuS - before.cpuS, netIn: after.netIn - before.netIn, netOut: after.netOut - before.netOut };
  return { name, calls, seconds, redis, generatorCpuS: (cpu.user + cpu.system) / 1e6, statuses };
}

function row(p: Phase): string {
  const perCall = (x: number) => x / p.calls;
  const redisUs = perCall(p.redis.cpuS) * 1e6;
  const cells = [
    p.name,
    p.calls.toLocaleString("en-US"),
    p.seconds.toFixed(2),
    Math.round(p.calls / p.seconds).toLocaleString("en-US"),
    redisUs.toFixed(2),
    `${Math.round((100 * p.redis.cpuS) / p.seconds)} %`,
    Math.round(1e6 / redisUs).toLocaleString("en-US"),
    `${Math.round(perCall(p.redis.netIn))} / ${Math.round(perCall(p.redis.netOut))}`,
    (perCall(p.generatorCpuS) * 1e6).toFixed(1),
    [...p.statuses].map(([s, n]) => `${s}: ${n}`).join(", "),
  ];
  return `| ${cells.join(" | ")} |`;
}

async function main(): Promise<void> {
  // Short, like the service's default (no prefix): key bytes are part of every call's bytes.
  const prefix = `bss${process.pid}:`;
  const k = campaignKeys(prefix);
  const conns = Array.from({ length: CONNECTIONS }, () => connect(opts.redis));
  const admin = new Redis(opts.redis);
  try {
    await fillCampaign(admin, k, CODES);
    // Warm-up: loads the script on every connection and lets V8 compile the caller loop.
    await Promise.all(conns.map((c, i) => c.issueCoupon(k.meta, k.pool, k.users, k.stream, `warm-${i}`, ...WALK_ARGS)));
    const issues = await drive("issues (new user per call)", conns, k, (n) => `user-${n}`, (s) => s === -4);
    // Books of the issue phase: every code popped has one users entry and one stream entry.
    const [issued, users, stream] = await Promise.all([admin.hget(k.meta, "issued"), admin.hlen(k.users), admin.xlen(k.stream)]);
    // If time ran out before the pool did, what is left goes: the refusals below must be sold-out ones.
    await admin.del(k.pool);
    const named = await drive("sold out, named (new user per call)", conns, k, (n) => `late-${n}`, () => false);
    const anonymous = await drive("sold out, anonymous", conns, k, () => "", () => false);

    const info = await admin.info("server");
    console.log(`redis ${/redis_version:(\S+)/.exec(info)?.[1]} at ${opts.redis}; ${CONNECTIONS} connections × ${INFLIGHT} in flight, auto-pipelined; ${CODES.toLocaleString("en-US")} codes; ${SUB_POOLS > 1 ? `sub-pool 0 of ${SUB_POOLS}` : "one pool"}; ≤ ${SECONDS} s per phase`);
    console.log(`issue phase books: meta issued ${issued}, users ${users}, stream ${stream} (warm-up ${CONNECTIONS} included)\n`);
    console.log("| phase | script calls | s | calls/s | Redis CPU µs/call | Redis busy (one core) | calls/s one Redis core would take | bytes in / out per call | generator CPU µs/call | replies by status |");
    console.log("|---|---|---|---|---|---|---|---|---|---|");
    for (const p of [issues, named, anonymous]) console.log(row(p));
  } finally {
    await admin.del(k.meta, k.pool, k.users, k.stream);
    admin.disconnect();
    for (const c of conns) c.disconnect();
  }
}

await main();
