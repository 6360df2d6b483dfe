import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CampaignState } from "../gen/couponpb/coupon_pb.js";
import { startTestService, stopTestService, waitFor, type TestService } from "../testing/harness.js";
import { createCampaign, failure, usersHomedAt } from "./lifecycle-testing.js";

const K = 4;

let s: TestService;
beforeAll(async () => {
  // Sweeps often with no grace: an ended campaign's keys go as soon as its owners are in MySQL.
  s = await startTestService({ SWEEP_INTERVAL_MS: "50", CLOSED_CAMPAIGN_GRACE_MS: "0" });
});
afterAll(async () => {
  if (s) await stopTestService(s);
});

describe("the end instant of a campaign of 4 sub-pools", () => {
  it("closes every sub-pool at once, and the ended campaign's sub-pools are freed with the unissued codes counted", async () => {
    const endMs = Date.now() + 1500;
    const campaignId = await createCampaign(s.json, { total: 200, endMs, shards: K });
    const holders = Array.from({ length: K }, (_, j) => usersHomedAt(j, K, 2, `e-${j}-`)).flat();
    const codes = await Promise.all(holders.map((userId) => s.json.issueCoupon({ campaignId, userId })));
    expect(new Set(codes.map((c) => (Number(c.sequence) - 1) % K))).toEqual(new Set([0, 1, 2, 3]));

    await waitFor("the end instant", () => (Date.now() > endMs + 20 ? true : undefined), 5000);
    const ended = { code: Code.FailedPrecondition, message: `campaign ${campaignId} has ended; it closed at ${new Date(endMs).toISOString()}` };
    const newcomers = Array.from({ length: K }, (_, j) => usersHomedAt(j, K, 1, `late-${j}-`)[0]!);
    const answers = await Promise.all([
      ...[...newcomers, ...holders].map((userId) => failure(s.json.issueCoupon({ campaignId, userId }))),
      ...Array.from({ length: 2 * K }, () => failure(s.json.issueCoupon({ campaignId }))),
    ]);
    expect(new Set(answers.map((a) => JSON.stringify(a)))).toEqual(new Set([JSON.stringify(ended)]));
    expect((await s.json.getCampaign({ campaignId })).campaign).toMatchObject({ issued: 8n, remaining: 192n, state: CampaignState.ENDED });

    // Ended on every sub-pool: the sweeper frees them all, and the answers stay the same.
    const pools = s.deps.keys.subPools(Number(campaignId), K);
    await waitFor("every sub-pool's keys to go", async () => {
      const left = await Promise.all(pools.map((k) => s.deps.bulkRedis.exists(k.pool, k.users, k.stream)));
      return left.every((n) => n === 0) ? true : undefined;
    });
    expect(await failure(s.json.issueCoupon({ campaignId, userId: holders[0]! }))).toEqual(ended);
    const view = await s.json.getCampaign({ campaignId });
    expect(view.campaign).toMatchObject({ issued: 8n, remaining: 192n, persisted: 8n, state: CampaignState.ENDED, shards: K });
    expect(new Set(view.couponCodes)).toEqual(new Set(codes.map((c) => c.couponCode)));
    expect(await s.json.verifyCampaign({ campaignId })).toMatchObject({ pooled: 192n, issued: 8n, poolReleased: true, problems: [], ok: true });
  });
});
