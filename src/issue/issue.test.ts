import { Code, ConnectError } from "@connectrpc/connect";
import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isWellFormedCode } from "../codes/code-format.js";
import { CampaignState } from "../gen/couponpb/coupon_pb.js";
import {
  couponClient,
  createLoadedCampaign,
  startTestService,
  stopTestService,
  waitFor,
  waitForPersisted,
  type TestService,
} from "../testing/harness.js";

let s: TestService;
beforeAll(async () => {
  s = await startTestService();
});
afterAll(async () => {
  if (s) await stopTestService(s);
});

function codeOf(err: unknown): Code | "ok" {
  return err === undefined ? "ok" : ConnectError.from(err).code;
}

describe("IssueCoupon", () => {
  it("issues exactly 1,000 codes to 5,000 concurrent callers and answers the rest sold out", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 1000 });
    const client = couponClient(s.url, "binary", 256);
    const results = await Promise.allSettled(
      Array.from({ length: 5000 }, (_, i) => client.issueCoupon({ campaignId, userId: `burst-${i}` })),
    );
    const codes = results.flatMap((r) => (r.status === "fulfilled" ? [r.value.couponCode] : []));
    const failures = results.flatMap((r) => (r.status === "rejected" ? [ConnectError.from(r.reason)] : []));
    expect(codes).toHaveLength(1000);
    expect(new Set(codes).size).toBe(1000);
    expect(codes.every(isWellFormedCode)).toBe(true);
    expect(failures).toHaveLength(4000);
    expect(new Set(failures.map((f) => f.code))).toEqual(new Set([Code.ResourceExhausted]));
    expect(failures[0]!.rawMessage).toBe(`campaign ${campaignId} is sold out`);
    const sequences = results.flatMap((r) => (r.status === "fulfilled" ? [Number(r.value.sequence)] : []));
    expect(sequences.sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));

    // After the persister drains, MySQL holds exactly these codes, each with its owner and time.
    await waitForPersisted(s.json, campaignId);
    const [rows] = await s.deps.mysqlPool.query<RowDataPacket[]>(
      "SELECT code, user_id, issued_at FROM coupon_issues WHERE campaign_id = ?",
      [Number(campaignId)],
    );
    expect(rows).toHaveLength(1000);
    expect(new Set(rows.map((r) => r.code))).toEqual(new Set(codes));
    const ownerOf = new Map<string, string>();
    results.forEach((r, i) => r.status === "fulfilled" && ownerOf.set(r.value.couponCode, `burst-${i}`));
    for (const r of rows) {
      expect(r.user_id).toBe(ownerOf.get(r.code));
      expect(r.issued_at).toBeInstanceOf(Date);
    }
    // Every generated code was handed out exactly once: none left, none twice.
    const [generated] = await s.deps.mysqlPool.query<RowDataPacket[]>(
      "SELECT code FROM coupons WHERE campaign_id = ?",
      [Number(campaignId)],
    );
    expect(new Set(generated.map((r) => r.code))).toEqual(new Set(codes));
    const campaign = (await s.json.getCampaign({ campaignId })).campaign!;
    expect(campaign).toMatchObject({ issued: 1000n, remaining: 0n, persisted: 1000n, state: CampaignState.SOLD_OUT });
  });

  it("refuses every call before the start instant and serves from the instant on", async () => {
    const { campaignId, startMs } = await createLoadedCampaign(s.json, { total: 10, startInMs: 1500 });
    const early = await s.json.issueCoupon({ campaignId }).catch((e: unknown) => ConnectError.from(e));
    expect(early).toBeInstanceOf(ConnectError);
    expect((early as ConnectError).code).toBe(Code.FailedPrecondition);
    expect((early as ConnectError).rawMessage).toBe(
      `campaign ${campaignId} has not started yet; it opens at ${new Date(startMs).toISOString()}`,
    );
    const seen: Array<Code | "ok"> = [];
    const first = await waitFor("the campaign to open", async () => {
      try {
        const r = await s.json.issueCoupon({ campaignId });
        seen.push("ok");
        return { at: Date.now(), r };
      } catch (err) {
        seen.push(codeOf(err));
        return undefined;
      }
    });
    // Redis and this process read the same clock here, so the first success is at or after the start.
    expect(first.at).toBeGreaterThanOrEqual(startMs);
    expect(seen.slice(0, -1).every((c) => c === Code.FailedPrecondition)).toBe(true);
    expect(first.r.sequence).toBe(1n);
  });

  it("gives the same code to the same user every time, and distinct codes to distinct users", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 100 });
    const a1 = await s.json.issueCoupon({ campaignId, userId: "alice" });
    const a2 = await s.binary.issueCoupon({ campaignId, userId: "alice" });
    expect(a2).toEqual(a1);
    const concurrent = await Promise.all(Array.from({ length: 50 }, () => s.json.issueCoupon({ campaignId, userId: "bob" })));
    expect(new Set(concurrent.map((r) => r.couponCode)).size).toBe(1);
    const others = await Promise.all(
      Array.from({ length: 20 }, (_, i) => s.json.issueCoupon({ campaignId, userId: `user-${i}` })),
    );
    const all = [a1.couponCode, concurrent[0]!.couponCode, ...others.map((r) => r.couponCode)];
    expect(new Set(all).size).toBe(22);
    expect((await s.json.getCampaign({ campaignId })).campaign?.issued).toBe(22n);
  });

  it("gives anonymous callers a new code on every call", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 5 });
    const codes = await Promise.all(Array.from({ length: 5 }, () => s.json.issueCoupon({ campaignId })));
    expect(new Set(codes.map((c) => c.couponCode)).size).toBe(5);
  });

  it("refuses a campaign that is still loading its pool", async () => {
    const { campaignId } = await s.json.createCampaign({
      name: "big",
      startTime: { seconds: BigInt(Math.floor(Date.now() / 1000)), nanos: 0 },
      totalCoupons: 300_000n,
    });
    const err = ConnectError.from(await s.json.issueCoupon({ campaignId }).catch((e: unknown) => e));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toBe(`campaign ${campaignId} is still loading its coupon pool; try again shortly`);
    const loading = (await s.json.getCampaign({ campaignId })).campaign!;
    expect(loading.state).toBe(CampaignState.LOADING);
    await s.deps.loader.idle();
    const loaded = (await s.json.getCampaign({ campaignId })).campaign!;
    expect(loaded).toMatchObject({ state: CampaignState.OPEN, loaded: 300_000n, remaining: 300_000n });
  });
});
