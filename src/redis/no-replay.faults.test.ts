import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { Code, ConnectError } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordFault } from "../testing/fault-report.js";
import {
  createLoadedCampaign,
  startTestService,
  stopTestService,
  TEST_REDIS_URL,
  waitFor,
  waitForPersisted,
  type TestService,
} from "../testing/harness.js";
import { TcpProxy } from "../testing/tcp-proxy.js";

/**
 * Fault 14.1: a Redis command runs, then its reply is lost with the connection. The proxy lets the
 * command reach Redis, throws the reply away and cuts the line (TcpProxy.dropReplyTo). A client
 * that resent in-flight commands after reconnecting would run it twice: a pool chunk pushed twice,
 * a second code popped for a caller who got one already.
 */
const TRAPS = 6;
const sha = (file: string) => createHash("sha1").update(readFileSync(new URL(file, import.meta.url), "utf8")).digest("hex");
const PUSH_SHA = sha("../campaigns/push-codes.lua");
const ISSUE_SHA = sha("../issue/issue-coupon.lua");

let proxy: TcpProxy;
let s: TestService;
/** Straight to Redis, past the proxy: what is really in the pool. */
let direct: Redis;

beforeAll(async () => {
  proxy = await new TcpProxy("127.0.0.1", 6379).start();
  s = await startTestService({
    REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
    // One call per user: a call that ran twice would be refused as over the limit.
    ISSUE_RATE_LIMIT_PER_USER: "1",
    ISSUE_RATE_LIMIT_WINDOW_MS: "600000",
  });
  direct = new Redis(TEST_REDIS_URL);
});
afterAll(async () => {
  direct?.disconnect();
  if (s) await stopTestService(s);
  await proxy?.stop();
});

/** Springs `count` traps one after another, each on the next command containing `match`. */
async function springTraps(match: string, count: number): Promise<number> {
  let sprung = 0;
  for (; sprung < count; sprung++) await proxy.dropReplyTo(match);
  return sprung;
}

/** The pool as Redis holds it, and whether any code sits in it twice. */
async function readPool(campaignId: bigint) {
  const codes = await direct.lrange(s.deps.keys.campaign(campaignId).pool, 0, -1);
  return { codes, duplicates: codes.length - new Set(codes).size };
}

async function issue(campaignId: bigint, userId: string) {
  try {
    const r = await s.json.issueCoupon({ campaignId, userId });
    return { code: r.couponCode };
  } catch (e) {
    return { err: ConnectError.from(e) };
  }
}

/**
 * `n` callers, in waves of `parallel`; every other wave, until `traps` have sprung, loses the
 * replies of the issue scripts it sent with its connection. Each wave waits for the issue
 * connection to be back, so the waves between traps run on a healthy line.
 */
async function burst(campaignId: bigint, n: number, parallel: number, user: (i: number) => string, traps: number) {
  const answers: Array<Awaited<ReturnType<typeof issue>>> = [];
  let sprung = 0;
  for (let first = 0, wave = 0; first < n; first += parallel, wave++) {
    await waitFor("the issue connection to be back", () => ((s.deps.issuePipe ?? s.deps.redis).status === "ready" ? true : undefined));
    const trap = wave % 2 === 1 && sprung < traps ? proxy.dropReplyTo(ISSUE_SHA) : undefined;
    const calls = Array.from({ length: Math.min(parallel, n - first) }, (_, i) => issue(campaignId, user(first + i)));
    answers.push(...(await Promise.all(calls)));
    if (trap) {
      await trap;
      sprung++;
    }
  }
  return { answers, sprung };
}

describe("a Redis command whose reply is lost with its connection", () => {
  it("is never run twice: a pool load whose pushes lose their replies holds every code once", async () => {
    const total = 40_000; // 8 chunks
    const traps = springTraps(PUSH_SHA, 3);
    const { campaignId } = await createLoadedCampaign(s.json, { total });
    expect(await traps).toBe(3);
    const pool = await readPool(campaignId);
    expect(pool.duplicates).toBe(0);
    expect(pool.codes.length).toBe(total);
    const c = (await s.json.getCampaign({ campaignId })).campaign!;
    expect(c).toMatchObject({ loaded: BigInt(total), remaining: BigInt(total), issued: 0n });
    recordFault({
      fault: "pool load: 3 chunk pushes run in Redis, their replies lost with the connection, `src/redis/no-replay.faults.test.ts`",
      behaviour: "each push is retried under the load's fence and recognised as done (push-codes.lua marks): every code in the pool once",
      calls: 0,
      issued: 0,
      duplicates: pool.duplicates,
      lostOwners: 0,
    });
  });

  it("is never run twice: a rebuild whose pushes lose their replies holds every remaining code once", async () => {
    const total = 20_000;
    const { campaignId } = await createLoadedCampaign(s.json, { total });
    const before = await Promise.all(Array.from({ length: 50 }, (_, i) => issue(campaignId, `before-rebuild-${i}`)));
    expect(before.every((a) => a.code)).toBe(true);
    await waitForPersisted(s.json, campaignId);
    const k = s.deps.keys.campaign(campaignId);
    await direct.del(k.meta, k.pool, k.users, k.stream); // Redis lost the campaign
    // A rebuild reloads the codes past the issue budget at the loss: a small one leaves chunks to push.
    await s.deps.db.$client.query("UPDATE campaigns SET issue_allowance = 1000 WHERE id = ?", [Number(campaignId)]);
    const traps = springTraps(PUSH_SHA, 2);
    const rebuilt = await s.json.rebuildCampaign({ campaignId });
    expect(await traps).toBe(2);
    expect(rebuilt.reloaded).toBe(BigInt(total - 1000));
    const pool = await readPool(campaignId);
    expect(pool.duplicates).toBe(0);
    expect(BigInt(pool.codes.length)).toBe(rebuilt.reloaded);
    const issuedBefore = new Set(before.map((a) => a.code));
    expect(pool.codes.filter((c) => issuedBefore.has(c))).toEqual([]);
    const books = await s.json.verifyCampaign({ campaignId });
    expect(books.ok, books.problems.join("; ")).toBe(true);
    recordFault({
      fault: "rebuild: 2 chunk pushes run in Redis, their replies lost with the connection, `src/redis/no-replay.faults.test.ts`",
      behaviour: "each push retried under the rebuild's fence and recognised as done: the pool holds every remaining code once, none issued before",
      calls: 50,
      issued: 50,
      duplicates: pool.duplicates,
      lostOwners: 0,
    });
  });

  it("is never run twice: named callers whose issue replies are lost are never refused as over their limit, and hold one code each", async () => {
    const total = 2000;
    const callers = 1500;
    const { campaignId } = await createLoadedCampaign(s.json, { total });
    const { answers, sprung } = await burst(campaignId, callers, 100, (i) => `named-${i}`, TRAPS);
    expect(sprung).toBe(TRAPS);

    const overLimit = answers.filter((a) => a.err?.code === Code.ResourceExhausted).length;
    const unavailable = answers.filter((a) => a.err?.code === Code.Unavailable).length;
    expect(answers.filter((a) => a.err && a.err.code !== Code.Unavailable).map((a) => a.err!.rawMessage)).toEqual([]);
    expect(overLimit).toBe(0);
    expect(unavailable).toBeGreaterThan(0);

    const k = s.deps.keys.campaign(campaignId);
    const holders = await direct.hgetall(k.users);
    const held = Object.values(holders).map((v) => v.split("|")[0]!);
    // Each caller who got a code holds exactly that one; an unavailable caller holds one or none.
    answers.forEach((a, i) => a.code && expect(holders[`named-${i}`]?.split("|")[0]).toBe(a.code));
    expect(new Set(held).size).toBe(held.length);
    const issued = Number(await direct.hget(k.meta, "issued"));
    expect(issued).toBe(held.length);
    const pool = await readPool(campaignId);
    expect(pool.duplicates).toBe(0);
    expect(pool.codes.length + issued).toBe(total);
    expect(pool.codes.filter((c) => held.includes(c))).toEqual([]);

    await waitForPersisted(s.json, campaignId);
    const books = await s.json.verifyCampaign({ campaignId });
    expect(books.ok, books.problems.join("; ")).toBe(true);
    recordFault({
      fault: `named IssueCoupon: ${TRAPS} scripts run in Redis, their replies lost with the connection, \`src/redis/no-replay.faults.test.ts\``,
      behaviour: `no command replayed: ${unavailable} callers answered \`unavailable\`, none refused as over their one-call limit; every holder one code, books balance`,
      calls: callers,
      issued,
      duplicates: held.length - new Set(held).size,
      lostOwners: 0,
    });
  });

  it("is never run twice: anonymous callers whose issue replies are lost pop no extra code, and the books balance", async () => {
    const total = 3000;
    const { campaignId } = await createLoadedCampaign(s.json, { total });
    const { answers, sprung } = await burst(campaignId, total, 100, () => "", TRAPS);
    expect(sprung).toBe(TRAPS);

    const received = answers.filter((a) => a.code).map((a) => a.code!);
    const unavailable = answers.filter((a) => a.err?.code === Code.Unavailable).length;
    expect(answers.filter((a) => a.err && a.err.code !== Code.Unavailable).map((a) => a.err!.rawMessage)).toEqual([]);
    expect(new Set(received).size).toBe(received.length);
    const k = s.deps.keys.campaign(campaignId);
    const issued = Number(await direct.hget(k.meta, "issued"));
    // A call that ran but lost its answer is a code issued without a receiver: at most one per
    // unavailable answer. A replay would pop a code for a caller who also got an answer.
    expect(issued - received.length).toBeGreaterThanOrEqual(0);
    expect(issued - received.length).toBeLessThanOrEqual(unavailable);
    const pool = await readPool(campaignId);
    expect(pool.duplicates).toBe(0);
    expect(pool.codes.length + issued).toBe(total);

    await waitForPersisted(s.json, campaignId);
    const books = await s.json.verifyCampaign({ campaignId });
    expect(books.ok, books.problems.join("; ")).toBe(true);
    recordFault({
      fault: `anonymous IssueCoupon: ${TRAPS} scripts run in Redis, their replies lost with the connection, \`src/redis/no-replay.faults.test.ts\``,
      behaviour: `no command replayed: ${issued - received.length} codes issued without a receiver, each to a caller answered \`unavailable\` (${unavailable}); recorded without owner, books balance`,
      calls: total,
      issued,
      duplicates: received.length - new Set(received).size,
      lostOwners: 0,
    });
  });
});
