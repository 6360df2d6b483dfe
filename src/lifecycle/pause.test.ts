import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CampaignState } from "../gen/couponpb/coupon_pb.js";
import { couponClient, startTestService, stopTestService, waitFor, waitForPersisted, type TestService } from "../testing/harness.js";
import { burst, createCampaign, failure } from "./lifecycle-testing.js";

let s: TestService;
beforeAll(async () => {
  s = await startTestService();
});
afterAll(async () => {
  if (s) await stopTestService(s);
});

describe("PauseCampaign and ResumeCampaign", () => {
  it("refuses issues while paused without touching the pool, and treats repeats as harmless", async () => {
    const campaignId = await createCampaign(s.json, { total: 10 });
    const first = await s.json.issueCoupon({ campaignId, userId: "a" });

    const paused = await s.json.pauseCampaign({ campaignId });
    expect(paused).toMatchObject({ changed: true, campaign: { state: CampaignState.PAUSED, issued: 1n, remaining: 9n } });
    expect((await s.json.pauseCampaign({ campaignId })).changed).toBe(false);
    for (const userId of ["a", "b", ""]) {
      expect(await failure(s.json.issueCoupon({ campaignId, userId }))).toEqual({
        code: Code.FailedPrecondition,
        message: `campaign ${campaignId} is paused`,
      });
    }
    const k = s.deps.keys.campaign(campaignId);
    expect(await s.deps.bulkRedis.llen(k.pool)).toBe(9);
    expect((await s.json.getCampaign({ campaignId })).campaign).toMatchObject({ state: CampaignState.PAUSED, issued: 1n });

    const resumed = await s.json.resumeCampaign({ campaignId });
    expect(resumed).toMatchObject({ changed: true, campaign: { state: CampaignState.OPEN } });
    expect((await s.json.resumeCampaign({ campaignId })).changed).toBe(false);
    // Exactly where it stopped: the same user gets the same code, the next one the next code.
    expect(await s.json.issueCoupon({ campaignId, userId: "a" })).toEqual(first);
    expect((await s.json.issueCoupon({ campaignId, userId: "b" })).sequence).toBe(2n);
  });

  it("answers not_found for a campaign that does not exist", async () => {
    expect(await failure(s.json.pauseCampaign({ campaignId: 987654n }))).toEqual({
      code: Code.NotFound,
      message: "campaign 987654 does not exist",
    });
    expect((await failure(s.json.resumeCampaign({ campaignId: 0n }))).code).toBe(Code.InvalidArgument);
  });

  it("freezes the issued count during a pause in the middle of a burst and issues the exact total after resume", async () => {
    const total = 3000;
    const campaignId = await createCampaign(s.json, { total });
    let successes = 0;
    let pauseReturnedAt = Infinity;
    let refusedWhilePaused = 0;
    const running = burst(couponClient(s.url, "binary", 64), campaignId, {
      workers: 32,
      onAttempt: (a) => {
        if (a.ok) successes++;
        if (a.err && a.sentAt > pauseReturnedAt) refusedWhilePaused++;
      },
      stop: (a) => a.err?.code === Code.ResourceExhausted,
    });

    await waitFor("800 codes issued", () => (successes >= 800 ? true : undefined));
    const paused = await s.json.pauseCampaign({ campaignId });
    pauseReturnedAt = Date.now();
    const issuedAtPause = paused.campaign!.issued;
    // While the burst goes on against the paused campaign, the count stays where it was.
    const reads: bigint[] = [];
    await waitFor("200 refusals while paused", async () => {
      reads.push((await s.json.getCampaign({ campaignId })).campaign!.issued);
      return refusedWhilePaused >= 200 ? true : undefined;
    });
    const resumeCalledAt = Date.now();
    await s.json.resumeCampaign({ campaignId });
    const attempts = await running;

    expect(issuedAtPause).toBeGreaterThanOrEqual(800n);
    expect(new Set(reads)).toEqual(new Set([issuedAtPause]));
    // Nothing sent while paused was issued; every refusal said "paused".
    const duringPause = attempts.filter((a) => a.sentAt > pauseReturnedAt && a.sentAt < resumeCalledAt);
    expect(duringPause.length).toBeGreaterThanOrEqual(200);
    expect(duringPause.filter((a) => a.ok)).toEqual([]);
    const refusals = new Set(attempts.filter((a) => a.err && a.err.code !== Code.ResourceExhausted).map((a) => a.err!.message));
    expect(refusals).toEqual(new Set([`campaign ${campaignId} is paused`]));

    // After resume: exactly `total` codes, each once, to distinct users, sequences 1..total.
    const ok = attempts.filter((a) => a.ok);
    expect(ok).toHaveLength(total);
    expect(new Set(ok.map((a) => a.ok!.code)).size).toBe(total);
    expect(new Set(ok.map((a) => a.userId)).size).toBe(total);
    expect(ok.map((a) => Number(a.ok!.sequence)).sort((x, y) => x - y)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const final = await waitForPersisted(s.json, campaignId);
    expect(final).toMatchObject({ issued: BigInt(total), remaining: 0n, persisted: BigInt(total), state: CampaignState.SOLD_OUT });
    expect(new Set((await s.json.getCampaign({ campaignId })).couponCodes)).toEqual(new Set(ok.map((a) => a.ok!.code)));
  });
});
