import type { RowDataPacket } from "mysql2";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CampaignState } from "../gen/couponpb/coupon_pb.js";
import { subPoolMember } from "../redis/keys.js";
import { startTestService, stopTestService, waitFor, type TestService } from "../testing/harness.js";
import { createCampaign, failure, usersHomedAt } from "./lifecycle-testing.js";

const K = 4;

let s: TestService;
beforeAll(async () => {
  // The sweeper finishes cancellations: let it pass often.
  s = await startTestService({ SWEEP_INTERVAL_MS: "100" });
});
afterAll(async () => {
  if (s) await stopTestService(s);
});

/** Voided codes in MySQL per sub-pool (by pool position), sub-pool 0 first. */
async function voidedBySubPool(campaignId: bigint): Promise<number[]> {
  const [rows] = await s.deps.mysqlPool.query<RowDataPacket[]>(
    "SELECT MOD(seq - 1, ?) AS sub, COUNT(*) AS n FROM coupons WHERE campaign_id = ? AND voided_at IS NOT NULL GROUP BY sub",
    [K, Number(campaignId)],
  );
  const out = Array<number>(K).fill(0);
  for (const r of rows) out[Number(r.sub)] = Number(r.n);
  return out;
}

/** Pool, users hash and stream keys left, over every sub-pool; and meta hashes left. */
async function keysLeft(campaignId: bigint): Promise<{ live: number; meta: number }> {
  const pools = s.deps.keys.subPools(Number(campaignId), K);
  const live = await Promise.all(pools.map((k) => s.deps.bulkRedis.exists(k.pool, k.users, k.stream)));
  const meta = await Promise.all(pools.map((k) => s.deps.bulkRedis.exists(k.meta)));
  return { live: live.reduce((a, b) => a + b, 0), meta: meta.reduce((a, b) => a + b, 0) };
}

/** Issues `perSubPool` codes to users homed at each sub-pool; returns user → code. */
async function issueAtEverySubPool(campaignId: bigint, perSubPool: number, tag: string): Promise<Map<string, string>> {
  const users = Array.from({ length: K }, (_, j) => usersHomedAt(j, K, perSubPool, `${tag}-${j}-`)).flat();
  const codes = await Promise.all(users.map((userId) => s.json.issueCoupon({ campaignId, userId })));
  return new Map(users.map((u, i) => [u, codes[i]!.couponCode]));
}

/** A refusal from whichever sub-pool a caller meets first: one newcomer homed at each, and anonymous callers. */
async function refusalsEverywhere(campaignId: bigint, holders: string[]): Promise<Set<string>> {
  const named = [...Array.from({ length: K }, (_, j) => usersHomedAt(j, K, 1, `late-${j}-`)[0]!), ...holders];
  const answers = await Promise.all([
    ...named.map((userId) => failure(s.json.issueCoupon({ campaignId, userId }))),
    ...Array.from({ length: 2 * K }, () => failure(s.json.issueCoupon({ campaignId }))),
  ]);
  return new Set(answers.map((a) => JSON.stringify(a)));
}

describe("CancelCampaign on a campaign of 4 sub-pools", () => {
  it("refuses on every sub-pool once it answered, voids the unissued codes of all of them and frees every sub-pool", async () => {
    const total = 400;
    const campaignId = await createCampaign(s.json, { total, shards: K });
    const held = await issueAtEverySubPool(campaignId, 10, "c");

    const cancelled = await s.json.cancelCampaign({ campaignId });
    expect(cancelled).toMatchObject({ changed: true, campaign: { state: CampaignState.CANCELLED, issued: 40n, shards: K } });
    const answer = { code: Code.FailedPrecondition, message: `campaign ${campaignId} was cancelled` };
    expect(await refusalsEverywhere(campaignId, [...held.keys()].slice(0, 4))).toEqual(new Set([JSON.stringify(answer)]));

    const done = await waitFor("the cancellation to finish", async () => {
      const c = (await s.json.getCampaign({ campaignId })).campaign!;
      return c.voided === BigInt(total - 40) && (await keysLeft(campaignId)).live === 0 ? c : undefined;
    });
    expect(done).toMatchObject({ state: CampaignState.CANCELLED, issued: 40n, persisted: 40n, remaining: BigInt(total - 40) });
    // Each sub-pool's unissued codes, and only those: 100 codes each, 10 issued from each.
    expect(await voidedBySubPool(campaignId)).toEqual(Array(K).fill(90));
    expect(await keysLeft(campaignId)).toEqual({ live: 0, meta: K });
    const members = await s.deps.bulkRedis.smembers(s.deps.keys.activeCampaigns);
    expect(members.filter((m) => Array.from({ length: K }, (_, j) => subPoolMember(Number(campaignId), j)).includes(m))).toEqual([]);
    expect(await s.json.verifyCampaign({ campaignId })).toMatchObject({
      generated: BigInt(total),
      pooled: BigInt(total - 40),
      issued: 40n,
      persisted: 40n,
      voided: BigInt(total - 40),
      poolReleased: true,
      problems: [],
      ok: true,
    });
    expect(await failure(s.json.resumeCampaign({ campaignId }))).toEqual(answer);
    expect(await refusalsEverywhere(campaignId, [])).toEqual(new Set([JSON.stringify(answer)]));
  });

  it("a cancellation that reached only sub-pool 0 (a crash partway) is finished: every sub-pool stops, the rest is voided", async () => {
    const total = 200;
    const campaignId = await createCampaign(s.json, { total, shards: K });
    await issueAtEverySubPool(campaignId, 5, "h");
    // As if CancelCampaign had died right after its first step.
    await s.deps.bulkRedis.hset(s.deps.keys.campaign(campaignId).meta, "state", "cancelled");
    // Pause and resume meet sub-pool 0 first and refuse without touching the others.
    expect((await failure(s.json.pauseCampaign({ campaignId }))).message).toBe(`campaign ${campaignId} was cancelled`);

    const done = await waitFor("the sweeper to finish the cancellation", async () => {
      const c = (await s.json.getCampaign({ campaignId })).campaign!;
      return c.voided === BigInt(total - 20) ? c : undefined;
    });
    expect(done).toMatchObject({ state: CampaignState.CANCELLED, issued: 20n, persisted: 20n });
    const states = await Promise.all(s.deps.keys.subPools(Number(campaignId), K).map((k) => s.deps.bulkRedis.hget(k.meta, "state")));
    expect(states).toEqual(Array(K).fill("cancelled"));
    const [rows] = await s.deps.mysqlPool.query<RowDataPacket[]>("SELECT cancelled_at FROM campaigns WHERE id = ?", [Number(campaignId)]);
    expect(rows[0]!.cancelled_at).not.toBeNull();
    expect(await voidedBySubPool(campaignId)).toEqual(Array(K).fill(45));
    expect(await refusalsEverywhere(campaignId, [])).toEqual(
      new Set([JSON.stringify({ code: Code.FailedPrecondition, message: `campaign ${campaignId} was cancelled` })]),
    );
    // Calling CancelCampaign again changes nothing more.
    expect(await s.json.cancelCampaign({ campaignId })).toMatchObject({ changed: false, campaign: { issued: 20n, voided: BigInt(total - 20) } });
  });
});
