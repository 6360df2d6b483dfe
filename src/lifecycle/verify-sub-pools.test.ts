import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { couponClient, startTestService, stopTestService, waitForPersisted, type TestService } from "../testing/harness.js";
import { createCampaign, usersHomedAt } from "./lifecycle-testing.js";

const K = 4;

let s: TestService;
beforeAll(async () => {
  s = await startTestService();
});
afterAll(async () => {
  if (s) await stopTestService(s);
});

async function issueMany(campaignId: bigint, users: string[]) {
  const client = couponClient(s.url, "binary", 64);
  const r = await Promise.all(users.map((userId) => client.issueCoupon({ campaignId, userId })));
  return r.map((x, i) => ({ userId: users[i]!, code: x.couponCode, sequence: Number(x.sequence) }));
}

describe("VerifyCampaign on a campaign of 4 sub-pools", () => {
  it("balances the books over every sub-pool right after a burst and once persisted", async () => {
    const campaignId = await createCampaign(s.json, { total: 1000, shards: K });
    // Skewed, so the sub-pools' counts and sequences differ: sub-pool 1 empties, its walkers go on to 2.
    const users = [...usersHomedAt(1, K, 400, "b1-"), ...usersHomedAt(3, K, 200, "b3-")];
    await issueMany(campaignId, users);
    const live = await s.json.verifyCampaign({ campaignId });
    expect(live).toMatchObject({ generated: 1000n, pooled: 400n, issued: 600n, poolBalances: true, ownersUnique: true, problems: [], ok: true });
    expect(live.persisted + live.pending).toBeGreaterThanOrEqual(600n);

    await waitForPersisted(s.json, campaignId);
    expect(await s.json.verifyCampaign({ campaignId })).toMatchObject({
      generated: 1000n,
      pooled: 400n,
      issued: 600n,
      persisted: 600n,
      pending: 0n,
      poolReleased: false,
      problems: [],
      ok: true,
    });
  });

  it("says which sub-pools do not balance when a code moved from one sub-pool's pool to another's", async () => {
    const campaignId = await createCampaign(s.json, { total: 400, shards: K });
    await issueMany(campaignId, usersHomedAt(0, K, 30, "m-"));
    const [, one, two] = s.deps.keys.subPools(Number(campaignId), K);
    // The totals still add up; each sub-pool's do not.
    await s.deps.bulkRedis.rpush(two!.pool, (await s.deps.bulkRedis.rpop(one!.pool))!);
    const v = await s.json.verifyCampaign({ campaignId });
    expect(v).toMatchObject({ pooled: 370n, issued: 30n, poolBalances: false, ok: false });
    expect(v.problems).toEqual([
      "sub-pool 1: pooled (99) + issued (0) = 99, but it holds 100 codes",
      "sub-pool 2: pooled (101) + issued (0) = 101, but it holds 100 codes",
    ]);
  });

  it("finds a code issued twice across sub-pools, by a sub-pool that does not hold it", async () => {
    const campaignId = await createCampaign(s.json, { total: 400, shards: K });
    const [first] = await issueMany(campaignId, usersHomedAt(0, K, 5, "d-"));
    await waitForPersisted(s.json, campaignId);
    expect((first!.sequence - 1) % K).toBe(0);
    const three = s.deps.keys.subPool(Number(campaignId), 3);
    // By hand: sub-pool 3's first issue, handing out sub-pool 0's first code again, still on its stream.
    await s.deps.bulkRedis.hincrby(three.meta, "issued", 1);
    await s.deps.bulkRedis.lpop(three.pool);
    await s.persister!.stop();
    let fake: string | null = null;
    try {
      fake = await s.deps.bulkRedis.xadd(three.stream, "*", "c", first!.code, "u", "intruder", "s", "4", "t", String(Date.now()));
      const v = await s.json.verifyCampaign({ campaignId });
      expect(v).toMatchObject({ issued: 6n, pending: 1n, poolBalances: true, ownersUnique: false, ok: false });
      expect(v.problems).toEqual([
        `code ${first!.code} has two owners: "intruder" on the stream, "${first!.userId}" in MySQL`,
        `code ${first!.code} was issued by sub-pool 3 (issue 4), but it belongs to sub-pool 0`,
      ]);
    } finally {
      if (fake) await s.deps.bulkRedis.xdel(three.stream, fake);
      s.persister!.start();
    }
    // And an issue sub-pool 3 counts that has no owner record anywhere.
    expect((await s.json.verifyCampaign({ campaignId })).problems).toEqual([
      "sub-pool 3: 1 codes were issued but 0 have an owner record (MySQL or stream)",
    ]);
  });
});
