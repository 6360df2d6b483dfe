import type { RowDataPacket } from "mysql2";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CampaignState } from "../gen/couponpb/coupon_pb.js";
import { couponClient, startTestService, stopTestService, waitFor, type TestService } from "../testing/harness.js";
import { burst, createCampaign, failure } from "./lifecycle-testing.js";

let s: TestService;
beforeAll(async () => {
  // The sweeper finishes cancellations whose owners were still on the stream: let it pass often.
  s = await startTestService({ SWEEP_INTERVAL_MS: "100" });
});
afterAll(async () => {
  if (s) await stopTestService(s);
});

async function voidedInMysql(campaignId: bigint): Promise<number> {
  const [rows] = await s.deps.mysqlPool.query<RowDataPacket[]>(
    "SELECT COUNT(*) AS n FROM coupons WHERE campaign_id = ? AND voided_at IS NOT NULL",
    [Number(campaignId)],
  );
  return Number(rows[0]!.n);
}

describe("CancelCampaign", () => {
  it("stops a burst for good: nothing succeeds after the cancel returns, and the issued count is final", async () => {
    const total = 5000;
    const campaignId = await createCampaign(s.json, { total });
    let successes = 0;
    let cancelReturnedAt = Infinity;
    let refusedAfter = 0;
    const running = burst(couponClient(s.url, "binary", 64), campaignId, {
      workers: 32,
      onAttempt: (a) => {
        if (a.ok) successes++;
        if (a.err && a.sentAt > cancelReturnedAt) refusedAfter++;
      },
      stop: () => refusedAfter >= 300,
    });
    await waitFor("1000 codes issued", () => (successes >= 1000 ? true : undefined));
    const cancelled = await s.json.cancelCampaign({ campaignId });
    cancelReturnedAt = Date.now();
    const attempts = await running;

    expect(cancelled.changed).toBe(true);
    expect(cancelled.campaign!.state).toBe(CampaignState.CANCELLED);
    const finalIssued = cancelled.campaign!.issued;
    // Every success happened before the cancellation took effect, and the cancel's count is exact.
    expect(attempts.filter((a) => a.ok)).toHaveLength(Number(finalIssued));
    expect(attempts.filter((a) => a.sentAt > cancelReturnedAt && a.ok)).toEqual([]);
    expect(new Set(attempts.filter((a) => a.err).map((a) => JSON.stringify(a.err)))).toEqual(
      new Set([JSON.stringify({ code: Code.FailedPrecondition, message: `campaign ${campaignId} was cancelled` })]),
    );

    // Once the persister has every owner: the unissued codes are voided and the pool is freed.
    const k = s.deps.keys.campaign(campaignId);
    const done = await waitFor("the cancellation to finish", async () => {
      const c = (await s.json.getCampaign({ campaignId })).campaign!;
      return c.voided > 0n && (await s.deps.bulkRedis.exists(k.pool, k.users, k.stream)) === 0 ? c : undefined;
    });
    expect(done).toMatchObject({
      state: CampaignState.CANCELLED,
      issued: finalIssued,
      persisted: finalIssued,
      voided: BigInt(total) - finalIssued,
      remaining: BigInt(total) - finalIssued,
    });
    expect(await voidedInMysql(campaignId)).toBe(total - Number(finalIssued));
    const [overlap] = await s.deps.mysqlPool.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS n FROM coupons c JOIN coupon_issues i ON i.code = c.code
        WHERE c.campaign_id = ? AND c.voided_at IS NOT NULL`,
      [Number(campaignId)],
    );
    expect(Number(overlap[0]!.n)).toBe(0);
    // The books still balance: what the pool held when it was freed is exactly what was voided.
    expect(await s.json.verifyCampaign({ campaignId })).toMatchObject({
      generated: BigInt(total),
      pooled: BigInt(total) - finalIssued,
      issued: finalIssued,
      persisted: finalIssued,
      pending: 0n,
      voided: BigInt(total) - finalIssued,
      poolReleased: true,
      ok: true,
    });

    // For good: no resume, no pause, another cancel changes nothing; the verdict stays the same.
    const cancelledMessage = { code: Code.FailedPrecondition, message: `campaign ${campaignId} was cancelled` };
    expect(await failure(s.json.resumeCampaign({ campaignId }))).toEqual(cancelledMessage);
    expect(await failure(s.json.pauseCampaign({ campaignId }))).toEqual(cancelledMessage);
    expect(await failure(s.json.issueCoupon({ campaignId, userId: "late" }))).toEqual(cancelledMessage);
    const again = await s.json.cancelCampaign({ campaignId });
    expect(again).toMatchObject({ changed: false, campaign: { issued: finalIssued, voided: BigInt(total) - finalIssued } });

    // Issued codes of a cancelled campaign cannot be redeemed.
    const holder = attempts.find((a) => a.ok)!;
    expect(await failure(s.json.redeemCoupon({ code: holder.ok!.code, userId: holder.userId }))).toEqual(cancelledMessage);
  });

  it("voids only after the persister has every owner: a cancel with owners still on the stream waits for it", async () => {
    const campaignId = await createCampaign(s.json, { total: 100 });
    await s.persister!.stop();
    try {
      const codes = await Promise.all(Array.from({ length: 30 }, (_, i) => s.json.issueCoupon({ campaignId, userId: `w${i}` })));
      const cancelled = await s.json.cancelCampaign({ campaignId });
      expect(cancelled.campaign).toMatchObject({ state: CampaignState.CANCELLED, issued: 30n, persisted: 0n, voided: 0n });
      expect(await voidedInMysql(campaignId)).toBe(0);
      const k = s.deps.keys.campaign(campaignId);
      expect(await s.deps.bulkRedis.llen(k.pool)).toBe(70);
      expect(codes).toHaveLength(30);
    } finally {
      s.persister!.start();
    }
    const done = await waitFor("the sweeper to finish the cancellation", async () => {
      const c = (await s.json.getCampaign({ campaignId })).campaign!;
      return c.voided === 70n ? c : undefined;
    });
    expect(done).toMatchObject({ issued: 30n, persisted: 30n, voided: 70n });
    expect(await voidedInMysql(campaignId)).toBe(70);
  });
});
