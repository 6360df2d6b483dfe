import { Code } from "@connectrpc/connect";
import type { Client } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CampaignState, type CouponService, type IssuedCoupon } from "../gen/couponpb/coupon_pb.js";
import { startTestService, stopTestService, waitFor, waitForPersisted, type TestService } from "../testing/harness.js";
import { createCampaign, failure } from "./lifecycle-testing.js";
import { Sweeper } from "./sweeper.js";

// `s` sweeps in the background with no grace; `manual` never sweeps by itself (the test drives
// sweeper passes with the grace it wants).
let s: TestService;
let manual: TestService;
beforeAll(async () => {
  [s, manual] = await Promise.all([
    startTestService({ SWEEP_INTERVAL_MS: "50", CLOSED_CAMPAIGN_GRACE_MS: "0" }),
    startTestService({ SWEEP_INTERVAL_MS: "3600000" }),
  ]);
});
afterAll(async () => {
  await Promise.all([s && stopTestService(s), manual && stopTestService(manual)]);
});

async function listAll(client: Client<typeof CouponService>, campaignId: bigint): Promise<IssuedCoupon[]> {
  const out: IssuedCoupon[] = [];
  let pageToken = "";
  do {
    const page = await client.listIssuedCoupons({ campaignId, pageSize: 7, pageToken });
    out.push(...page.coupons);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return out;
}

async function keysLeft(t: TestService, campaignId: bigint): Promise<{ live: number; meta: number }> {
  const k = t.deps.keys.campaign(campaignId);
  return { live: await t.deps.bulkRedis.exists(k.pool, k.users, k.stream), meta: await t.deps.bulkRedis.exists(k.meta) };
}

const waitForRelease = (t: TestService, campaignId: bigint) =>
  waitFor(`campaign ${campaignId}'s keys to go`, async () => ((await keysLeft(t, campaignId)).live === 0 ? true : undefined));

describe("the sweeper", () => {
  it("removes a sold-out campaign's keys once persisted, and every read and answer stays exact", async () => {
    const campaignId = await createCampaign(s.json, { total: 40 });
    const issued = await Promise.all(Array.from({ length: 40 }, (_, i) => s.json.issueCoupon({ campaignId, userId: `s${i}` })));
    const before = await s.json.getCampaign({ campaignId });
    const listed = await listAll(s.json, campaignId);

    await waitForRelease(s, campaignId);
    expect(await keysLeft(s, campaignId)).toEqual({ live: 0, meta: 1 });
    expect(await s.deps.bulkRedis.sismember(s.deps.keys.activeCampaigns, String(campaignId))).toBe(0);

    const after = await s.json.getCampaign({ campaignId });
    expect(after.couponCodes).toEqual(before.couponCodes);
    expect(after.campaign).toEqual({ ...before.campaign, persisted: 40n });
    expect(after.campaign).toMatchObject({ issued: 40n, remaining: 0n, persisted: 40n, state: CampaignState.SOLD_OUT });
    expect(await listAll(s.json, campaignId)).toEqual(listed);

    const soldOut = { code: Code.ResourceExhausted, message: `campaign ${campaignId} is sold out` };
    expect(await failure(s.json.issueCoupon({ campaignId, userId: "newcomer" }))).toEqual(soldOut);
    expect(await failure(s.json.issueCoupon({ campaignId, userId: "s0" }))).toEqual(soldOut);
    expect((await s.json.redeemCoupon({ code: issued[3]!.couponCode, userId: "s3" })).sequence).toBe(issued[3]!.sequence);
    expect(await s.json.verifyCampaign({ campaignId })).toMatchObject({
      generated: 40n,
      pooled: 0n,
      issued: 40n,
      persisted: 40n,
      pending: 0n,
      redeemed: 1n,
      poolReleased: true,
      ok: true,
    });

    // Even without the tombstone (a Redis that lost it), MySQL gives the same answers.
    await s.deps.bulkRedis.del(s.deps.keys.campaign(campaignId).meta);
    expect(await failure(s.json.issueCoupon({ campaignId, userId: "newcomer" }))).toEqual(soldOut);
    expect((await s.json.getCampaign({ campaignId })).campaign).toMatchObject({ issued: 40n, state: CampaignState.SOLD_OUT, redeemed: 1n });
  });

  it("removes an ended campaign's keys; it still answers ended and counts the codes it never issued", async () => {
    const endMs = Date.now() + 1500;
    const campaignId = await createCampaign(s.json, { total: 30, endMs });
    const issued = await Promise.all(Array.from({ length: 10 }, (_, i) => s.json.issueCoupon({ campaignId, userId: `e${i}` })));
    await waitForRelease(s, campaignId);
    const ended = { code: Code.FailedPrecondition, message: `campaign ${campaignId} has ended; it closed at ${new Date(endMs).toISOString()}` };
    expect(await failure(s.json.issueCoupon({ campaignId, userId: "late" }))).toEqual(ended);
    const view = await s.json.getCampaign({ campaignId });
    expect(view.campaign).toMatchObject({ issued: 10n, remaining: 20n, persisted: 10n, state: CampaignState.ENDED });
    expect(new Set(view.couponCodes)).toEqual(new Set(issued.map((r) => r.couponCode)));
    expect(await s.json.verifyCampaign({ campaignId })).toMatchObject({ pooled: 20n, issued: 10n, poolReleased: true, ok: true });

    await s.deps.bulkRedis.del(s.deps.keys.campaign(campaignId).meta);
    expect(await failure(s.json.issueCoupon({ campaignId, userId: "late" }))).toEqual(ended);
  });

  it("leaves open and paused campaigns alone", async () => {
    const open = await createCampaign(s.json, { total: 10 });
    const paused = await createCampaign(s.json, { total: 10 });
    await s.json.issueCoupon({ campaignId: open, userId: "o" });
    await s.json.pauseCampaign({ campaignId: paused });
    const sweeper = new Sweeper(s.deps, { intervalMs: 1000, graceMs: 0 });
    expect(await sweeper.runOnce()).toEqual([]);
    for (const id of [open, paused]) {
      const k = s.deps.keys.campaign(id);
      expect(await s.deps.bulkRedis.exists(k.meta, k.pool, k.stream)).toBe(3);
    }
    expect((await s.json.issueCoupon({ campaignId: open, userId: "o2" })).sequence).toBe(2n);
  });

  it("keeps the keys for the grace period and while any owner is still on the stream", async () => {
    const m = manual;
    const campaignId = await createCampaign(m.json, { total: 5 });
    await m.persister!.stop();
    try {
      await Promise.all(Array.from({ length: 5 }, (_, i) => m.json.issueCoupon({ campaignId, userId: `g${i}` })));
      const graceful = new Sweeper(m.deps, { intervalMs: 1000, graceMs: 3_600_000 });
      const eager = new Sweeper(m.deps, { intervalMs: 1000, graceMs: 0 });
      expect(await graceful.runOnce()).toEqual([]);
      // The sweeper noted when it first saw the campaign sold out: the grace runs from there.
      expect(await m.deps.bulkRedis.hget(m.deps.keys.campaign(campaignId).meta, "closed_ms")).not.toBeNull();
      expect(await eager.runOnce()).toEqual([]); // owners still on the stream
      expect((await keysLeft(m, campaignId)).live).toBe(2); // users hash and stream (the pool is empty)
    } finally {
      m.persister!.start();
    }
    await waitForPersisted(m.json, campaignId);
    expect(await new Sweeper(m.deps, { intervalMs: 1000, graceMs: 3_600_000 }).runOnce()).toEqual([]);
    expect(await new Sweeper(m.deps, { intervalMs: 1000, graceMs: 0 }).runOnce()).toEqual([Number(campaignId)]);
    expect(await keysLeft(m, campaignId)).toEqual({ live: 0, meta: 1 });
  });
});
