import { Code, type Client } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CampaignState, type CouponService } from "../gen/couponpb/coupon_pb.js";
import { couponClient, startTestService, stopTestService, waitFor, waitForPersisted, type TestService } from "../testing/harness.js";
import { burst, createCampaign, failure, usersHomedAt } from "./lifecycle-testing.js";

const K = 4;

let s: TestService;
beforeAll(async () => {
  s = await startTestService();
});
afterAll(async () => {
  if (s) await stopTestService(s);
});

/** Each sub-pool's meta `state`, sub-pool 0 first. */
async function states(campaignId: bigint): Promise<Array<string | null>> {
  return Promise.all(s.deps.keys.subPools(Number(campaignId), K).map((k) => s.deps.bulkRedis.hget(k.meta, "state")));
}

async function pooled(campaignId: bigint): Promise<number> {
  const lengths = await Promise.all(s.deps.keys.subPools(Number(campaignId), K).map((k) => s.deps.bulkRedis.llen(k.pool)));
  return lengths.reduce((a, b) => a + b, 0);
}

/**
 * The answers of callers who meet every sub-pool first: for each sub-pool a newcomer homed there
 * and the given holders, and 2·K anonymous callers (each starts one sub-pool further).
 */
async function answersEverywhere(client: Client<typeof CouponService>, campaignId: bigint, holders: string[], tag: string) {
  const newcomers = Array.from({ length: K }, (_, j) => usersHomedAt(j, K, 1, `${tag}-new-${j}-`)[0]!);
  const calls = [
    ...[...newcomers, ...holders].map((userId) => client.issueCoupon({ campaignId, userId })),
    ...Array.from({ length: 2 * K }, () => client.issueCoupon({ campaignId })),
  ];
  // "issued" for a call that succeeded (failure() throws then).
  return Promise.all(calls.map((c) => failure(c).catch(() => ({ code: undefined, message: "issued" }))));
}

describe("PauseCampaign and ResumeCampaign on a campaign of 4 sub-pools", () => {
  it("stops every sub-pool for named and anonymous callers alike, and resume issues again from each", async () => {
    const campaignId = await createCampaign(s.json, { total: 400, shards: K });
    const holders = Array.from({ length: K }, (_, j) => usersHomedAt(j, K, 2, `holder-${j}-`)).flat();
    const held = new Map<string, string>();
    for (const userId of holders) held.set(userId, (await s.json.issueCoupon({ campaignId, userId })).couponCode);

    const paused = await s.json.pauseCampaign({ campaignId });
    expect(paused).toMatchObject({ changed: true, campaign: { state: CampaignState.PAUSED, issued: 8n, remaining: 392n, shards: K } });
    expect(await states(campaignId)).toEqual(Array(K).fill("paused"));
    const pausedAnswer = { code: Code.FailedPrecondition, message: `campaign ${campaignId} is paused` };
    expect(new Set((await answersEverywhere(s.json, campaignId, holders, "p")).map((a) => JSON.stringify(a)))).toEqual(
      new Set([JSON.stringify(pausedAnswer)]),
    );
    expect(await pooled(campaignId)).toBe(392);
    expect((await s.json.pauseCampaign({ campaignId })).changed).toBe(false);

    const resumed = await s.json.resumeCampaign({ campaignId });
    expect(resumed).toMatchObject({ changed: true, campaign: { state: CampaignState.OPEN, issued: 8n } });
    expect(await states(campaignId)).toEqual(Array(K).fill("ready"));
    // Holders get their codes again; a newcomer homed at each sub-pool and anonymous callers get new ones.
    for (const [userId, code] of held) expect((await s.json.issueCoupon({ campaignId, userId })).couponCode).toBe(code);
    const after = await answersEverywhere(s.json, campaignId, [], "r");
    expect(after.map((a) => a.message)).toEqual(Array(3 * K).fill("issued"));
    expect(await pooled(campaignId)).toBe(392 - 3 * K);
    const bySubPool = new Set(
      (await Promise.all(s.deps.keys.subPools(Number(campaignId), K).map((k) => s.deps.bulkRedis.hget(k.meta, "issued")))).map(Number),
    );
    expect([...bySubPool].every((n) => n > 2)).toBe(true); // every sub-pool issued after the resume
  });

  it("a pause that one sub-pool refused stops the others, and calling again finishes it", async () => {
    const campaignId = await createCampaign(s.json, { total: 200, shards: K });
    const sub2 = s.deps.keys.subPool(Number(campaignId), 2);
    // Sub-pool 2 refuses a state change while it fills (as during a rebuild of it alone).
    await s.deps.bulkRedis.hset(sub2.meta, "state", "loading");
    expect(await failure(s.json.pauseCampaign({ campaignId }))).toEqual({
      code: Code.FailedPrecondition,
      message: `campaign ${campaignId} is still loading its coupon pool; try again shortly`,
    });
    expect(await states(campaignId)).toEqual(["paused", "paused", "loading", "paused"]);

    await s.deps.bulkRedis.hset(sub2.meta, "state", "ready");
    expect((await s.json.pauseCampaign({ campaignId })).changed).toBe(true);
    expect(await states(campaignId)).toEqual(Array(K).fill("paused"));
    const refusals = await answersEverywhere(s.json, campaignId, [], "again");
    expect(new Set(refusals.map((a) => a.message))).toEqual(new Set([`campaign ${campaignId} is paused`]));
    expect((await s.json.getCampaign({ campaignId })).campaign).toMatchObject({ state: CampaignState.PAUSED, issued: 0n });
  });

  it("nothing is issued from any sub-pool once the pause answered in the middle of a burst; after resume the exact total", async () => {
    const total = 2000;
    const campaignId = await createCampaign(s.json, { total, shards: K });
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
    await waitFor("500 codes issued", () => (successes >= 500 ? true : undefined));
    const paused = await s.json.pauseCampaign({ campaignId });
    pauseReturnedAt = Date.now();
    await waitFor("200 refusals while paused", () => (refusedWhilePaused >= 200 ? true : undefined));
    const issuedWhilePaused = (await s.json.getCampaign({ campaignId, omitCodes: true })).campaign!.issued;
    const resumeCalledAt = Date.now();
    await s.json.resumeCampaign({ campaignId });
    const attempts = await running;

    expect(issuedWhilePaused).toBe(paused.campaign!.issued);
    const duringPause = attempts.filter((a) => a.sentAt > pauseReturnedAt && a.sentAt < resumeCalledAt);
    expect(duringPause.length).toBeGreaterThanOrEqual(200);
    expect(duringPause.filter((a) => a.ok)).toEqual([]);
    const ok = attempts.filter((a) => a.ok);
    expect(ok).toHaveLength(total);
    expect(new Set(ok.map((a) => a.ok!.code)).size).toBe(total);
    const perSubPool = Array<number>(K).fill(0);
    for (const a of ok) perSubPool[(Number(a.ok!.sequence) - 1) % K]!++;
    expect(perSubPool).toEqual(Array(K).fill(total / K));
    expect(await waitForPersisted(s.json, campaignId)).toMatchObject({ issued: BigInt(total), remaining: 0n, state: CampaignState.SOLD_OUT });
  });
});
