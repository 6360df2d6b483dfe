import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestService, stopTestService, waitForPersisted, type TestService } from "../testing/harness.js";
import { createCampaign, failure } from "./lifecycle-testing.js";

let s: TestService;
beforeAll(async () => {
  s = await startTestService();
});
afterAll(async () => {
  if (s) await stopTestService(s);
});

async function issueMany(campaignId: bigint, n: number, prefix: string): Promise<string[]> {
  const r = await Promise.all(Array.from({ length: n }, (_, i) => s.json.issueCoupon({ campaignId, userId: `${prefix}${i}` })));
  return r.map((x) => x.couponCode);
}

describe("VerifyCampaign", () => {
  it("balances the books of a clean campaign, during and after issuing and redeeming", async () => {
    const campaignId = await createCampaign(s.json, { total: 500 });
    const codes = await issueMany(campaignId, 200, "v");
    // Right away: some owners may still be on the stream; the books balance all the same.
    const live = await s.json.verifyCampaign({ campaignId });
    expect(live).toMatchObject({ generated: 500n, pooled: 300n, issued: 200n, poolBalances: true, ownersUnique: true, ok: true });
    expect(live.problems).toEqual([]);
    expect(live.persisted + live.pending).toBeGreaterThanOrEqual(200n);

    await waitForPersisted(s.json, campaignId);
    await s.json.redeemCoupon({ code: codes[0]!, userId: "v0" });
    expect(await s.json.verifyCampaign({ campaignId })).toMatchObject({
      campaignId,
      generated: 500n,
      pooled: 300n,
      issued: 200n,
      persisted: 200n,
      pending: 0n,
      redeemed: 1n,
      voided: 0n,
      poolBalances: true,
      ownersUnique: true,
      poolReleased: false,
      problems: [],
      ok: true,
    });
  });

  it("says the books do not balance when a code was removed from the pool by hand", async () => {
    const campaignId = await createCampaign(s.json, { total: 100 });
    await issueMany(campaignId, 10, "c");
    const k = s.deps.keys.campaign(campaignId);
    expect(await s.deps.bulkRedis.rpop(k.pool)).not.toBeNull();

    const v = await s.json.verifyCampaign({ campaignId });
    expect(v).toMatchObject({ generated: 100n, pooled: 89n, issued: 10n, poolBalances: false, ownersUnique: true, ok: false });
    expect(v.problems).toEqual(["pooled (89) + issued (10) = 99, but 100 codes were generated: 1 code(s) are neither in the pool nor issued"]);
  });

  it("finds a code with two owners and an issue without an owner record", async () => {
    const campaignId = await createCampaign(s.json, { total: 100 });
    const [first] = await issueMany(campaignId, 5, "d");
    await waitForPersisted(s.json, campaignId);
    const k = s.deps.keys.campaign(campaignId);
    // By hand: the first code issued again to someone else, as issue 6, on the stream.
    await s.deps.bulkRedis.hincrby(k.meta, "issued", 1);
    await s.deps.bulkRedis.lpop(k.pool);
    await s.persister!.stop();
    let fake: string | null = null;
    try {
      fake = await s.deps.bulkRedis.xadd(k.stream, "*", "c", first!, "u", "intruder", "s", "6", "t", String(Date.now()));
      const v = await s.json.verifyCampaign({ campaignId });
      expect(v).toMatchObject({ issued: 6n, pending: 1n, poolBalances: true, ownersUnique: false, ok: false });
      expect(v.problems).toEqual([`code ${first} has two owners: "intruder" on the stream, "d0" in MySQL`]);

      // And an issue counted in Redis with no owner record anywhere.
      await s.deps.bulkRedis.hincrby(k.meta, "issued", 1);
      await s.deps.bulkRedis.lpop(k.pool);
      const w = await s.json.verifyCampaign({ campaignId });
      expect(w.problems).toContain("7 codes were issued but 6 have an owner record (MySQL or stream)");
    } finally {
      if (fake) await s.deps.bulkRedis.xdel(k.stream, fake);
      s.persister!.start();
    }
  });

  it("answers not_found for a campaign that does not exist", async () => {
    expect(await failure(s.json.verifyCampaign({ campaignId: 424242n }))).toEqual({
      code: Code.NotFound,
      message: "campaign 424242 does not exist",
    });
  });
});
