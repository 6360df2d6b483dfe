import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CampaignState } from "../gen/couponpb/coupon_pb.js";
import { subPoolMember } from "../redis/keys.js";
import { startTestService, stopTestService, waitForPersisted, type TestService } from "../testing/harness.js";
import { createCampaign, failure, usersHomedAt } from "./lifecycle-testing.js";
import { Sweeper } from "./sweeper.js";

const K = 4;

// Never sweeps by itself: the test drives sweeper passes with the grace it wants.
let s: TestService;
beforeAll(async () => {
  s = await startTestService({ SWEEP_INTERVAL_MS: "3600000" });
});
afterAll(async () => {
  if (s) await stopTestService(s);
});

const eager = () => new Sweeper(s.deps, { intervalMs: 1000, graceMs: 0 });

/** Per sub-pool: which of pool, users hash, stream exist, and whether its meta says released. */
async function subPoolKeys(campaignId: bigint) {
  return Promise.all(
    s.deps.keys.subPools(Number(campaignId), K).map(async (k) => ({
      pool: await s.deps.bulkRedis.exists(k.pool),
      users: await s.deps.bulkRedis.exists(k.users),
      stream: await s.deps.bulkRedis.exists(k.stream),
      released: (await s.deps.bulkRedis.hget(k.meta, "released_ms")) !== null,
    })),
  );
}

async function listedMembers(campaignId: bigint): Promise<string[]> {
  const members = new Set(await s.deps.bulkRedis.smembers(s.deps.keys.activeCampaigns));
  return Array.from({ length: K }, (_, j) => subPoolMember(Number(campaignId), j)).filter((m) => members.has(m));
}

describe("the sweeper and a campaign of 4 sub-pools", () => {
  it("releases nothing while one sub-pool still holds codes, and all sub-pools once every one is empty and persisted", async () => {
    const campaignId = await createCampaign(s.json, { total: 40, shards: K });
    const allMembers = Array.from({ length: K }, (_, j) => subPoolMember(Number(campaignId), j));
    // Users homed at sub-pool 0 empty it, then walk on and empty sub-pools 1 and 2.
    const first = usersHomedAt(0, K, 30, "w-");
    const held = new Map<string, string>();
    for (const userId of first) held.set(userId, (await s.json.issueCoupon({ campaignId, userId })).couponCode);
    const lengths = await Promise.all(s.deps.keys.subPools(Number(campaignId), K).map((k) => s.deps.bulkRedis.llen(k.pool)));
    expect(lengths).toEqual([0, 0, 0, 10]);
    await waitForPersisted(s.json, campaignId);

    // Three sub-pools empty and persisted, past any grace: but sub-pool 3 still issues, and the
    // walks of these holders pass sub-pools 0, 1 and 2 before it.
    expect(await eager().runOnce()).toEqual([]);
    expect((await subPoolKeys(campaignId)).map((k) => [k.users, k.released])).toEqual([
      [1, false],
      [1, false],
      [1, false],
      [0, false],
    ]);
    expect(await listedMembers(campaignId)).toEqual(allMembers);
    for (const [userId, code] of held) expect((await s.json.issueCoupon({ campaignId, userId })).couponCode).toBe(code);

    // The last sub-pool sells out while the persister is stopped: its owners are on its stream.
    await s.persister!.stop();
    const last = Array.from({ length: 10 }, (_, i) => `last-${i}`);
    try {
      for (const userId of last) held.set(userId, (await s.json.issueCoupon({ campaignId, userId })).couponCode);
      expect(await eager().runOnce()).toEqual([]);
      expect((await subPoolKeys(campaignId)).every((k) => !k.released && k.stream === 1)).toBe(true);
    } finally {
      s.persister!.start();
    }
    await waitForPersisted(s.json, campaignId);
    const before = await s.json.getCampaign({ campaignId });
    // The grace runs from when the last sub-pool was seen empty.
    expect(await new Sweeper(s.deps, { intervalMs: 1000, graceMs: 3_600_000 }).runOnce()).toEqual([]);

    expect(await eager().runOnce()).toEqual([Number(campaignId)]);
    expect(await subPoolKeys(campaignId)).toEqual(Array(K).fill({ pool: 0, users: 0, stream: 0, released: true }));
    expect(await listedMembers(campaignId)).toEqual([]);

    // Every read and answer stays exact, now from MySQL and the tombstones.
    const after = await s.json.getCampaign({ campaignId });
    expect(after.couponCodes).toEqual(before.couponCodes);
    expect(after.campaign).toEqual(before.campaign);
    expect(after.campaign).toMatchObject({ issued: 40n, remaining: 0n, persisted: 40n, state: CampaignState.SOLD_OUT, shards: K });
    expect(new Set(after.couponCodes)).toEqual(new Set(held.values()));
    const soldOut = { code: Code.ResourceExhausted, message: `campaign ${campaignId} is sold out` };
    expect(await failure(s.json.issueCoupon({ campaignId, userId: first[0]! }))).toEqual(soldOut);
    expect(await failure(s.json.issueCoupon({ campaignId, userId: "newcomer" }))).toEqual(soldOut);
    expect(await failure(s.json.issueCoupon({ campaignId }))).toEqual(soldOut);
    expect(await s.json.verifyCampaign({ campaignId })).toMatchObject({
      generated: 40n,
      pooled: 0n,
      issued: 40n,
      persisted: 40n,
      poolReleased: true,
      problems: [],
      ok: true,
    });
  });

  it("finishes a release a crash cut short after some sub-pools", async () => {
    const campaignId = await createCampaign(s.json, { total: 8, shards: K });
    for (let i = 0; i < 8; i++) await s.json.issueCoupon({ campaignId, userId: `c-${i}` });
    await waitForPersisted(s.json, campaignId);
    // As if a sweeper had died after releasing sub-pool 1 alone.
    const one = s.deps.keys.subPool(Number(campaignId), 1);
    expect(await s.deps.redis.releaseCampaignKeys(one.meta, one.pool, one.users, one.stream, 2)).toEqual([0, 0]);
    expect(await eager().runOnce()).toEqual([Number(campaignId)]);
    expect((await subPoolKeys(campaignId)).every((k) => k.released && k.users === 0)).toBe(true);
    expect(await listedMembers(campaignId)).toEqual([]);
  });
});
