import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CouponService } from "../gen/couponpb/coupon_pb.js";
import { Persister } from "../persist/persister.js";
import { subPoolMember } from "../redis/keys.js";
import { recordFault } from "../testing/fault-report.js";
import {
  couponClient,
  createLoadedCampaign,
  deleteKeys,
  startTestService,
  stopTestService,
  TEST_REDIS_URL,
  waitFor,
  type TestService,
} from "../testing/harness.js";
import { homeSubPool, subPoolOfPosition, subPoolSize } from "./sub-pools.js";

/**
 * Rebuild of a campaign split into K = 4 sub-pools, after one of them or all of them were lost
 * (one Redis Cluster master lost its data, or the whole of Redis). A small issue budget keeps the
 * allowance well below the total, so the quarantine's bounds are visible. The persister is off:
 * each test persists when it means to.
 */
const K = 4;
let s: TestService;
let client: Client<typeof CouponService>;
let persister: Persister;
beforeAll(async () => {
  s = await startTestService({
    PERSISTER: "off",
    ISSUE_BUDGET_INITIAL: "400",
    ISSUE_BUDGET_MIN_HEADROOM: "200",
    ISSUE_BUDGET_HEADROOM_S: "0",
    ISSUE_BUDGET_INTERVAL_MS: "50",
  });
  client = couponClient(s.url, "binary", 64);
  persister = new Persister({ db: s.deps.db, redis: s.deps.bulkRedis, keys: s.deps.keys, logger: s.deps.logger }, { batchSize: 500 });
});
afterAll(async () => {
  if (s) await stopTestService(s);
});

type Answer = { code: string; sequence: number } | { refused: ConnectError };

/** One IssueCoupon call, tried again while the issue budget is being raised (and only then). */
async function issue(campaignId: bigint, userId = ""): Promise<Answer> {
  for (;;) {
    try {
      const r = await client.issueCoupon({ campaignId, userId });
      return { code: r.couponCode, sequence: Number(r.sequence) };
    } catch (e) {
      const err = ConnectError.from(e);
      if (err.code === Code.Unavailable && err.rawMessage.includes("catching up on its issue budget")) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      return { refused: err };
    }
  }
}

/** Issues to every user at once; each must get a code. */
async function issueAll(campaignId: bigint, users: readonly string[]): Promise<Map<string, string>> {
  const answers = await Promise.all(users.map((u) => issue(campaignId, u)));
  const got = new Map<string, string>();
  answers.forEach((a, i) => {
    if ("refused" in a) throw new Error(`${users[i]} was refused: ${a.refused.rawMessage}`);
    got.set(users[i]!, a.code);
  });
  return got;
}

/** `n` user ids whose walk starts at sub-pool `home`. */
function usersHomedAt(home: number, n: number, tag: string): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) if (homeSubPool(`${tag}-${i}`, K) === home) out.push(`${tag}-${i}`);
  return out;
}

/** Runs the persister until every sub-pool's stream is empty. */
async function persistAll(campaignId: bigint): Promise<void> {
  const streams = s.deps.keys.subPools(Number(campaignId), K).map((k) => k.stream);
  await waitFor("every stream to be persisted", async () => {
    await persister.runOnce();
    const lengths = await Promise.all(streams.map((st) => s.deps.bulkRedis.xlen(st)));
    return lengths.every((n) => n === 0) ? true : undefined;
  });
}

/** One sub-pool lost: its meta, pool, users and stream are gone, as when its master lost its data. */
async function loseSubPool(campaignId: bigint, sub: number): Promise<void> {
  const k = s.deps.keys.subPool(Number(campaignId), sub);
  await s.deps.bulkRedis.del(k.meta, k.pool, k.users, k.stream);
}

/** All of Redis lost for this campaign: every key under its hash tags, and its active-set members. */
async function loseAll(campaignId: bigint): Promise<void> {
  const prefix = s.config.REDIS_KEY_PREFIX;
  await deleteKeys(TEST_REDIS_URL, `${prefix}cp:{${campaignId}}:*`);
  await deleteKeys(TEST_REDIS_URL, `${prefix}cp:{${campaignId}.*}:*`);
  await s.deps.bulkRedis.srem(s.deps.keys.activeCampaigns, ...Array.from({ length: K }, (_, j) => subPoolMember(Number(campaignId), j)));
}

/** Each sub-pool as Redis holds it. */
async function redisBooks(campaignId: bigint) {
  return Promise.all(
    s.deps.keys.subPools(Number(campaignId), K).map(async (k) => {
      const [state, issued, allow, total, shards, sub, fence] = await s.deps.bulkRedis.hmget(k.meta, "state", "issued", "allow", "total", "shards", "sub", "fence");
      return {
        state,
        issued: Number(issued),
        allow: Number(allow),
        total: Number(total),
        shards: Number(shards),
        sub: Number(sub),
        fence: Number(fence),
        pooled: await s.deps.bulkRedis.llen(k.pool),
        pool: await s.deps.bulkRedis.lrange(k.pool, 0, -1),
      };
    }),
  );
}

/** The campaign's books as MySQL holds them. */
async function mysqlBooks(campaignId: bigint) {
  const [rows] = await s.deps.mysqlPool.query<RowDataPacket[]>(
    `SELECT (SELECT COUNT(*) FROM coupons WHERE campaign_id = ?) AS generated,
            (SELECT COUNT(*) FROM coupon_issues WHERE campaign_id = ?) AS owners,
            (SELECT COUNT(DISTINCT code) FROM coupon_issues WHERE campaign_id = ?) AS ownedCodes,
            (SELECT COUNT(*) FROM coupons WHERE campaign_id = ? AND quarantined_at IS NOT NULL) AS quarantinedCodes,
            (SELECT quarantined FROM campaigns WHERE id = ?) AS quarantinedCount,
            (SELECT COUNT(*) FROM coupons WHERE campaign_id = ? AND voided_at IS NOT NULL) AS voided,
            (SELECT COUNT(*) FROM coupons c JOIN coupon_issues i ON i.code = c.code
              WHERE c.campaign_id = ? AND c.quarantined_at IS NOT NULL) AS ownedAndQuarantined,
            (SELECT COUNT(*) FROM coupon_issues i LEFT JOIN coupons c ON c.code = i.code AND c.campaign_id = i.campaign_id
              WHERE i.campaign_id = ? AND c.code IS NULL) AS foreignCodes,
            (SELECT COUNT(*) FROM coupon_issues i JOIN coupons c ON c.code = i.code AND c.campaign_id = i.campaign_id
              WHERE i.campaign_id = ? AND MOD(i.sequence - 1, ${K}) <> MOD(c.seq - 1, ${K})) AS sequenceOfAnotherSubPool,
            (SELECT COUNT(*) FROM integrity_alarms WHERE campaign_id = ?) AS alarms`,
    Array(10).fill(Number(campaignId)),
  );
  return Object.fromEntries(Object.entries(rows[0]!).map(([key, v]) => [key, Number(v)]));
}

/** Quarantined codes and owners by sub-pool. */
async function bySubPool(campaignId: bigint, what: "quarantined" | "owned"): Promise<number[]> {
  const [rows] = await s.deps.mysqlPool.query<RowDataPacket[]>(
    what === "quarantined"
      ? `SELECT MOD(seq - 1, ${K}) AS sub, COUNT(*) AS n FROM coupons WHERE campaign_id = ? AND quarantined_at IS NOT NULL GROUP BY sub`
      : `SELECT MOD(c.seq - 1, ${K}) AS sub, COUNT(*) AS n FROM coupon_issues i JOIN coupons c ON c.code = i.code WHERE i.campaign_id = ? GROUP BY sub`,
    [Number(campaignId)],
  );
  const out = Array<number>(K).fill(0);
  for (const r of rows) out[Number(r.sub)] = Number(r.n);
  return out;
}

/** Each sub-pool's own issue budget (a local position) in MySQL, sub-pool 0 first. */
async function subPoolBudgetsOf(campaignId: bigint): Promise<number[]> {
  const [rows] = await s.deps.mysqlPool.query<RowDataPacket[]>("SELECT sub, issue_allowance AS a FROM sub_pool_budgets WHERE campaign_id = ?", [Number(campaignId)]);
  const out = Array<number>(K).fill(0);
  for (const r of rows) out[Number(r.sub)] = Number(r.a);
  return out;
}

/**
 * The most a sub-pool's budget runs ahead of its issued count here: its opening budget
 * (ISSUE_BUDGET_INITIAL / K = 100) or the least headroom it keeps (ISSUE_BUDGET_MIN_HEADROOM / K = 50).
 */
const OWN_HEADROOM = 100;

async function allowanceOf(campaignId: bigint): Promise<number> {
  const [rows] = await s.deps.mysqlPool.query<RowDataPacket[]>("SELECT issue_allowance AS a FROM campaigns WHERE id = ?", [Number(campaignId)]);
  return Number(rows[0]!.a);
}

/** New callers until the campaign is sold out: the codes they got. */
async function sellOut(campaignId: bigint, expected: number, tag: string): Promise<string[]> {
  const answers = await Promise.all(Array.from({ length: expected + 40 }, (_, i) => issue(campaignId, `${tag}-${i}`)));
  const refusals = answers.flatMap((a) => ("refused" in a ? [a.refused] : []));
  for (const r of refusals) expect(r.code, r.rawMessage).toBe(Code.ResourceExhausted);
  return answers.flatMap((a) => ("code" in a ? [a.code] : []));
}

/**
 * After a rebuild: every holder asks again and gets exactly their code (no one a second one),
 * then the burst goes on to the sell-out and takes `left` codes, none issued before
 * (`earlier`: the codes issued before the sell-out besides the holders'). Returns the codes sold
 * and every code issued.
 */
async function holdersKeepCodesThenSellOut(
  campaignId: bigint,
  holders: Map<string, string>,
  left: number,
  tag: string,
  earlier: readonly string[] = [],
): Promise<{ sold: string[]; issuedCodes: string[] }> {
  expect(await issueAll(campaignId, [...holders.keys()])).toEqual(holders);
  const sold = await sellOut(campaignId, left, tag);
  expect(sold).toHaveLength(left);
  const issuedCodes = [...holders.values(), ...earlier, ...sold];
  expect(new Set(issuedCodes).size).toBe(issuedCodes.length);
  return { sold, issuedCodes };
}

const missingPool = (id: bigint) =>
  `campaign ${id} has no coupon pool in Redis; an operator must rebuild it (npm run campaign -- rebuild ${id})`;

describe("rebuilding a campaign split into sub-pools", () => {
  it("one lost sub-pool is rebuilt alone: the others keep their pools and codes, every holder keeps their code, and the campaign sells out with every code issued once", async () => {
    const TOTAL = 4000;
    const LOST = 2;
    const { campaignId } = await createLoadedCampaign(s.json, { total: TOTAL, shards: K });
    const id = Number(campaignId);
    const before = await issueAll(campaignId, Array.from({ length: 1500 }, (_, i) => `before-${i}`));
    await persistAll(campaignId);
    const owned = await bySubPool(campaignId, "owned");
    expect(owned.every((n) => n > 0 && n < 1000)).toBe(true); // no sub-pool is empty

    await loseSubPool(campaignId, LOST);
    // A caller whose walk meets the lost sub-pool is told an operator must rebuild, holder or not ...
    const homedAtLost = usersHomedAt(LOST, 1, "during")[0]!;
    const during = await issue(campaignId, homedAtLost);
    expect("refused" in during && during.refused.code).toBe(Code.Unavailable);
    expect("refused" in during && during.refused.rawMessage).toBe(missingPool(campaignId));
    const lostHolder = [...before.keys()].find((u) => homeSubPool(u, K) === LOST)!;
    const asked = await issue(campaignId, lostHolder);
    expect("refused" in asked && asked.refused.rawMessage).toBe(missingPool(campaignId));
    // ... one whose walk does not meet it is served as before.
    const elsewhere = usersHomedAt(0, 1, "during")[0]!;
    const served = await issue(campaignId, elsewhere);
    expect("code" in served).toBe(true);
    if ("code" in served) before.set(elsewhere, served.code);
    await persistAll(campaignId);

    // What the rebuild must leave alone (not `allow`: the budget keeper may still raise it).
    const live = async () => (await redisBooks(campaignId)).map(({ allow: _, ...rest }) => rest);
    const untouched = await live();
    const budgetsBefore = await subPoolBudgetsOf(campaignId);
    const lostIssued = (await bySubPool(campaignId, "owned"))[LOST]!;

    const startedAt = performance.now();
    const rebuilt = await s.json.rebuildCampaign({ campaignId });
    // The lost sub-pool's own budget in force at the rebuild, as a pool position (a keeper pass
    // may have raised it since the read above).
    const allowance = Number(rebuilt.allowance);
    const local = allowance / K;
    expect(local).toBeGreaterThanOrEqual(budgetsBefore[LOST]!);
    expect(local - lostIssued).toBeLessThanOrEqual(OWN_HEADROOM);
    // Codes of the live sub-pools within their own budgets are still unissued: a quarantine over
    // the whole campaign would have taken them from pools that are issuing them.
    const liveUnissuedWithinBudget = untouched.reduce((n, p, j) => (j === LOST ? n : n + Math.max(0, budgetsBefore[j]! - p.issued)), 0);
    expect(liveUnissuedWithinBudget).toBeGreaterThan(0);
    expect(rebuilt).toMatchObject({
      quarantined: BigInt(local - lostIssued),
      reloaded: BigInt(1000 - local),
      owners: BigInt(lostIssued),
    });
    // Only sub-pool 2 was rebuilt: the others' pools, counts and fences are as they were, and
    // none of their codes is quarantined.
    const unchanged = await live();
    for (let j = 0; j < K; j++) {
      if (j !== LOST) expect(unchanged[j]).toEqual(untouched[j]);
    }
    const after = await redisBooks(campaignId);
    expect(await bySubPool(campaignId, "quarantined")).toEqual([0, 0, local - lostIssued, 0]);
    expect(after[LOST]).toMatchObject({ state: "ready", total: 1000, issued: local, shards: K, sub: LOST, pooled: 1000 - local });
    // Its budget starts used up (allow = issued) and the keeper raises it, in MySQL first, as ever.
    expect(after[LOST]!.allow).toBeGreaterThanOrEqual(local);
    expect((await subPoolBudgetsOf(campaignId))[LOST]).toBeGreaterThanOrEqual(after[LOST]!.allow);
    expect(await allowanceOf(campaignId)).toBeGreaterThanOrEqual(after[LOST]!.allow * K);
    expect(after[LOST]!.fence).toBeGreaterThan(untouched[0]!.fence);
    expect(await s.deps.bulkRedis.sismember(s.deps.keys.activeCampaigns, subPoolMember(id, LOST))).toBe(1);
    const again = ConnectError.from(await s.json.rebuildCampaign({ campaignId }).catch((e: unknown) => e));
    expect(again.code).toBe(Code.FailedPrecondition);
    expect(again.rawMessage).toBe(`campaign ${campaignId} still has all its ${K} sub-pools in Redis; there is nothing to rebuild`);

    // Every holder asking again gets exactly their code, whichever sub-pool it came from; the
    // burst goes on to the sell-out: every code left in the pools, each once.
    const left = after.reduce((n, p) => n + p.pooled, 0);
    const { sold, issuedCodes } = await holdersKeepCodesThenSellOut(campaignId, before, left, "after");
    const recoveryMs = performance.now() - startedAt;
    expect(new Set([...sold, ...after.flatMap((p) => p.pool)]).size).toBe(left);

    await persistAll(campaignId);
    const end = await redisBooks(campaignId);
    expect(end.map((p) => p.pooled)).toEqual([0, 0, 0, 0]);
    expect(end.reduce((n, p) => n + p.issued, 0)).toBe(TOTAL);
    const books = await mysqlBooks(campaignId);
    expect(books).toEqual({
      generated: TOTAL,
      owners: issuedCodes.length,
      ownedCodes: issuedCodes.length,
      quarantinedCodes: local - lostIssued,
      quarantinedCount: local - lostIssued,
      voided: 0,
      ownedAndQuarantined: 0,
      foreignCodes: 0,
      sequenceOfAnotherSubPool: 0,
      alarms: 0,
    });
    expect(books.owners! + books.quarantinedCodes!).toBe(TOTAL);
    // The rebuilt sub-pool's new sequences continue past every one it gave before the loss.
    const [seqs] = await s.deps.mysqlPool.query<RowDataPacket[]>(
      `SELECT i.sequence AS seq, c.seq AS position FROM coupon_issues i JOIN coupons c ON c.code = i.code
        WHERE i.campaign_id = ? AND MOD(c.seq - 1, ${K}) = ${LOST} ORDER BY i.sequence`,
      [id],
    );
    const firstAfter = seqs.findIndex((r) => Number(r.position) > allowance);
    expect(Number(seqs[firstAfter]!.seq)).toBe(local * K + LOST + 1);
    expect(seqs.slice(0, firstAfter).every((r) => Number(r.position) <= allowance)).toBe(true);

    recordFault({
      fault: "one of a campaign's 4 sub-pools is lost (its master lost its data), `src/campaigns/rebuild-sub-pools.faults.test.ts`",
      behaviour: `callers whose walk meets it are told to rebuild, the others are served; the rebuild takes only that sub-pool (${local - lostIssued} of its codes within the budget quarantined, none of the others'), every holder keeps their code, the campaign sells out with every code issued once`,
      calls: before.size + 2 + before.size + left + 40,
      issued: issuedCodes.length,
      duplicates: issuedCodes.length - new Set(issuedCodes).size,
      lostOwners: 0,
      recoveryMs,
    });
  });

  it("all sub-pools lost while some are empty: the empty ones stay empty, the others get back their codes past their own budgets, and holders, also those who walked past an empty one, get their codes back and never a second one", async () => {
    // Sub-pools of 1001, 1001, 1000 and 1000 codes.
    const TOTAL = 4002;
    const { campaignId } = await createLoadedCampaign(s.json, { total: TOTAL, shards: K });
    const id = Number(campaignId);
    // Users homed at sub-pool 2 empty it, then walk on and empty sub-pool 3, then walk past both
    // into sub-pool 0; others are served at home in sub-pools 0 and 1.
    const walkers = usersHomedAt(2, 2050, "walker");
    const holders = new Map<string, string>();
    for (const [u, c] of await issueAll(campaignId, walkers)) holders.set(u, c);
    const stayers = [...usersHomedAt(0, 150, "zero"), ...usersHomedAt(1, 150, "one"), ...usersHomedAt(3, 30, "three")];
    for (const [u, c] of await issueAll(campaignId, stayers)) holders.set(u, c);
    const anonymous = await Promise.all(Array.from({ length: 20 }, () => issue(campaignId)));
    const anonymousCodes = anonymous.flatMap((a) => ("code" in a ? [a.code] : []));
    expect(anonymousCodes).toHaveLength(20);
    await persistAll(campaignId);
    const emptied = await redisBooks(campaignId);
    expect(emptied.map((p) => p.pooled > 0)).toEqual([true, true, false, false]);

    await loseAll(campaignId);
    const during = await issue(campaignId, walkers[0]);
    expect("refused" in during && during.refused.rawMessage).toBe(missingPool(campaignId));
    // GetCampaign answers from MySQL, as for any campaign Redis lost.
    const owners = holders.size + anonymousCodes.length;
    expect((await s.json.getCampaign({ campaignId })).campaign).toMatchObject({ issued: BigInt(owners), persisted: BigInt(owners) });

    // The emptied sub-pools had their budgets raised to their size; the others' stayed near what
    // they issued. MySQL's campaign-wide allowance (a pool position) is set by the highest, 1000 · K,
    // but each sub-pool is rebuilt from its own.
    expect(await allowanceOf(campaignId)).toBe(1000 * K);
    const budgets = await subPoolBudgetsOf(campaignId);
    const owned = await bySubPool(campaignId, "owned");
    expect(budgets.slice(2)).toEqual([1000, 1000]);
    for (const j of [0, 1]) {
      expect(budgets[j]).toBeGreaterThanOrEqual(owned[j]!);
      expect(budgets[j]! - owned[j]!).toBeLessThanOrEqual(OWN_HEADROOM);
    }
    const reloadedCodes = 1001 - budgets[0]! + (1001 - budgets[1]!);
    const startedAt = performance.now();
    const rebuilt = await s.json.rebuildCampaign({ campaignId });
    expect(rebuilt).toMatchObject({
      allowance: BigInt(1000 * K),
      quarantined: BigInt(budgets[0]! - owned[0]! + budgets[1]! - owned[1]!),
      // Every code of sub-pools 0 and 1 past their own budgets (with one budget for all, only
      // positions 4001 and 4002 came back: the 1001st codes of sub-pools 0 and 1).
      reloaded: BigInt(reloadedCodes),
      owners: BigInt(holders.size),
    });
    const after = await redisBooks(campaignId);
    expect(after.map((p) => [p.state, p.total, p.issued, p.pooled])).toEqual([
      ["ready", 1001, budgets[0], 1001 - budgets[0]!],
      ["ready", 1001, budgets[1], 1001 - budgets[1]!],
      ["ready", 1000, 1000, 0],
      ["ready", 1000, 1000, 0],
    ]);
    expect(await s.deps.bulkRedis.smembers(s.deps.keys.activeCampaigns)).toEqual(
      expect.arrayContaining(Array.from({ length: K }, (_, j) => subPoolMember(id, j))),
    );
    // The walkers' records are also in the sub-pools their walk passes before their code's.
    const keys = s.deps.keys.subPools(id, K);
    const [codeSub] = await s.deps.mysqlPool.query<RowDataPacket[]>(
      "SELECT i.user_id AS u, c.seq AS position FROM coupon_issues i JOIN coupons c ON c.code = i.code WHERE i.campaign_id = ? AND i.user_id LIKE 'walker-%'",
      [id],
    );
    const walkedPast = codeSub.filter((r) => subPoolOfPosition(Number(r.position), K) === 0).map((r) => r.u as string);
    expect(walkedPast.length).toBe(2050 - 2000);
    for (const u of walkedPast.slice(0, 5)) {
      for (const sub of [2, 3, 0]) expect((await s.deps.bulkRedis.hget(keys[sub]!.users, u))?.split("|")[0]).toBe(holders.get(u));
      expect(await s.deps.bulkRedis.hget(keys[1]!.users, u)).toBeNull();
    }

    // Every named caller asks again: the same code, and no one gets a second one; then the burst
    // goes on to the sell-out.
    const { sold, issuedCodes } = await holdersKeepCodesThenSellOut(campaignId, holders, reloadedCodes, "late", anonymousCodes);
    const recoveryMs = performance.now() - startedAt;

    await persistAll(campaignId);
    const end = await redisBooks(campaignId);
    expect(end.map((p) => p.pooled)).toEqual([0, 0, 0, 0]);
    expect(end.reduce((n, p) => n + p.issued, 0)).toBe(TOTAL);
    for (let j = 0; j < K; j++) expect(end[j]!.issued).toBe(subPoolSize(j, K, TOTAL));
    const books = await mysqlBooks(campaignId);
    expect(books).toMatchObject({
      generated: TOTAL,
      owners: issuedCodes.length,
      ownedCodes: issuedCodes.length,
      ownedAndQuarantined: 0,
      foreignCodes: 0,
      sequenceOfAnotherSubPool: 0,
      alarms: 0,
    });
    expect(books.owners! + books.quarantinedCodes!).toBe(TOTAL);
    expect(books.quarantinedCount).toBe(books.quarantinedCodes);

    recordFault({
      fault: "all of a 4-sub-pool campaign's keys are lost while two sub-pools are empty, `src/campaigns/rebuild-sub-pools.faults.test.ts`",
      behaviour:
        `the rebuild restores every sub-pool (the empty ones stay empty, the others get back their ${reloadedCodes} codes past their own budgets), every holder's record also where their walk passes before their code's sub-pool; every named caller asks again and gets the same code; sells out at exactly the total`,
      calls: walkers.length + stayers.length + 20 + 1 + holders.size + reloadedCodes + 40,
      issued: issuedCodes.length,
      duplicates: issuedCodes.length - new Set(issuedCodes).size,
      lostOwners: 0,
      recoveryMs,
    });
  });

  it("refuses while a lost sub-pool's stream holds issues MySQL does not have (not a live one's), then rebuilds once they are persisted", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 400, shards: K });
    const id = Number(campaignId);
    await issueAll(campaignId, Array.from({ length: 20 }, (_, i) => `early-${i}`));
    await persistAll(campaignId);
    // Issues of sub-pools 1 and 2 wait on their streams (the persister is off); then sub-pool 2
    // loses its meta, pool and users, but not its stream.
    const lostHolders = await issueAll(campaignId, usersHomedAt(2, 3, "pending"));
    await issueAll(campaignId, usersHomedAt(1, 2, "live"));
    const k2 = s.deps.keys.subPool(id, 2);
    await s.deps.bulkRedis.del(k2.meta, k2.pool, k2.users);

    const refused = ConnectError.from(await s.json.rebuildCampaign({ campaignId }).catch((e: unknown) => e));
    expect(refused.code).toBe(Code.FailedPrecondition);
    expect(refused.rawMessage).toBe(
      `campaign ${campaignId} still has 3 issues on the Redis stream of lost sub-pool 2 that are not in MySQL yet; wait for the persister to write them, then rebuild`,
    );
    expect(await s.deps.bulkRedis.exists(k2.meta)).toBe(0);

    await persistAll(campaignId);
    const owned = await bySubPool(campaignId, "owned");
    const rebuilt = await s.json.rebuildCampaign({ campaignId });
    // The opening budget (400 / K = 100 per sub-pool) covers each whole sub-pool: every unowned
    // code of sub-pool 2 is quarantined.
    expect(rebuilt).toMatchObject({ allowance: 400n, owners: BigInt(owned[2]!), quarantined: BigInt(100 - owned[2]!), reloaded: 0n });
    expect(await issueAll(campaignId, [...lostHolders.keys()])).toEqual(lostHolders);
  });

  it("a lagging sub-pool lost while a busy one is empty is rebuilt from its own budget: its codes past it come back, holders keep theirs, and the campaign sells out with every code issued once, without waiting for a live sub-pool's stream", async () => {
    const TOTAL = 4000;
    const BUSY = 0;
    const LAGGING = 1;
    const { campaignId } = await createLoadedCampaign(s.json, { total: TOTAL, shards: K });
    const id = Number(campaignId);
    // A skewed burst: callers homed at sub-pool 0 empty it, few are homed at sub-pool 1.
    const holders = new Map<string, string>();
    for (const [u, c] of await issueAll(campaignId, usersHomedAt(BUSY, 1000, "busy"))) holders.set(u, c);
    for (const [u, c] of await issueAll(campaignId, usersHomedAt(LAGGING, 30, "lagging"))) holders.set(u, c);
    for (const [u, c] of await issueAll(campaignId, [...usersHomedAt(2, 200, "two"), ...usersHomedAt(3, 200, "three")])) holders.set(u, c);
    await persistAll(campaignId);
    const before = await redisBooks(campaignId);
    expect(before[BUSY]).toMatchObject({ issued: 1000, pooled: 0 });
    const lagIssued = before[LAGGING]!.issued;
    expect(lagIssued).toBeLessThan(100);
    // The busy sub-pool's budget is its size, and sets MySQL's campaign-wide allowance; the
    // lagging one's own budget stays near what it issued.
    const budgets = await subPoolBudgetsOf(campaignId);
    expect(budgets[BUSY]).toBe(1000);
    expect(await allowanceOf(campaignId)).toBe(1000 * K);
    const own = budgets[LAGGING]!;
    expect(own - lagIssued).toBeLessThanOrEqual(OWN_HEADROOM);

    // Sub-pool 3 goes on issuing, its issues not yet persisted, while sub-pool 1 is lost.
    for (const [u, c] of await issueAll(campaignId, usersHomedAt(3, 5, "unpersisted"))) holders.set(u, c);
    const live = s.deps.keys.subPool(id, 3);
    expect(await s.deps.bulkRedis.xlen(live.stream)).toBe(5);
    await loseSubPool(campaignId, LAGGING);

    const startedAt = performance.now();
    const rebuilt = await s.json.rebuildCampaign({ campaignId });
    expect(rebuilt).toMatchObject({
      allowance: BigInt(own * K),
      quarantined: BigInt(own - lagIssued),
      reloaded: BigInt(1000 - own),
      owners: BigInt(lagIssued),
    });
    // Its unissued codes beyond its own budget came back (with one budget for all, A / K = 1000
    // would have quarantined every unissued code of it and reloaded none).
    expect(Number(rebuilt.reloaded)).toBeGreaterThanOrEqual(1000 - lagIssued - OWN_HEADROOM);
    expect(await bySubPool(campaignId, "quarantined")).toEqual([0, own - lagIssued, 0, 0]);
    const after = await redisBooks(campaignId);
    expect(after[LAGGING]).toMatchObject({ state: "ready", total: 1000, issued: own, pooled: 1000 - own });
    for (const j of [0, 2, 3]) expect(after[j]).toMatchObject({ issued: before[j]!.issued + (j === 3 ? 5 : 0) });

    // Every holder asking again gets exactly their code, also those not yet in MySQL, and the
    // burst goes on to the sell-out: every code left in the pools, each once.
    const left = after.reduce((n, p) => n + p.pooled, 0);
    const { sold, issuedCodes } = await holdersKeepCodesThenSellOut(campaignId, holders, left, "after");
    const recoveryMs = performance.now() - startedAt;

    await persistAll(campaignId);
    const end = await redisBooks(campaignId);
    expect(end.map((p) => p.pooled)).toEqual([0, 0, 0, 0]);
    for (let j = 0; j < K; j++) expect(end[j]!.issued).toBe(1000);
    const books = await mysqlBooks(campaignId);
    expect(books).toEqual({
      generated: TOTAL,
      owners: issuedCodes.length,
      ownedCodes: issuedCodes.length,
      quarantinedCodes: own - lagIssued,
      quarantinedCount: own - lagIssued,
      voided: 0,
      ownedAndQuarantined: 0,
      foreignCodes: 0,
      sequenceOfAnotherSubPool: 0,
      alarms: 0,
    });
    expect(books.owners! + books.quarantinedCodes!).toBe(TOTAL);
    console.log(`lagging lost sub-pool: ${lagIssued} of its 1000 codes issued, own budget ${own}; rebuild reloaded ${rebuilt.reloaded}, quarantined ${own - lagIssued}`);

    recordFault({
      fault: "a lagging sub-pool of a 4-sub-pool campaign is lost while a busy one is empty, `src/campaigns/rebuild-sub-pools.faults.test.ts`",
      behaviour: `the rebuild takes it from its own budget (${own - lagIssued} codes quarantined, ${rebuilt.reloaded} of its ${1000 - lagIssued} unissued codes reloaded), without waiting for a live sub-pool's unpersisted issues; every holder keeps their code, the campaign sells out with every code issued once`,
      calls: holders.size + holders.size + left + 40,
      issued: issuedCodes.length,
      duplicates: issuedCodes.length - new Set(issuedCodes).size,
      lostOwners: 0,
      recoveryMs,
    });
  });
});
