import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CampaignState } from "../gen/couponpb/coupon_pb.js";
import { persistWithAPersister, startTestService, stopTestService, testNamespace, type TestService } from "../testing/harness.js";
import { createCampaign, failure } from "./lifecycle-testing.js";

// No persister in this instance: the test decides when owners reach MySQL, so it can redeem codes
// that are only on the stream.
let s: TestService;
const ns = testNamespace();
beforeAll(async () => {
  s = await startTestService({ PERSISTER: "off" }, {}, ns);
});
afterAll(async () => {
  if (s) await stopTestService(s);
});

/** Changes one body character so the check character no longer matches. */
function mistype(code: string): string {
  const c = code.charCodeAt(0);
  return String.fromCharCode(c === 0xd7a3 ? c - 1 : c + 1) + code.slice(1);
}

describe("RedeemCoupon", () => {
  it("redeems a persisted code once, for its owner, and then says when it was used", async () => {
    const campaignId = await createCampaign(s.json, { total: 10 });
    const { couponCode } = await s.json.issueCoupon({ campaignId, userId: "alice" });
    await persistWithAPersister(s, campaignId);

    expect(await failure(s.json.redeemCoupon({ code: couponCode, userId: "mallory" }))).toEqual({
      code: Code.PermissionDenied,
      message: `coupon ${couponCode} was issued to another user`,
    });
    const r = await s.json.redeemCoupon({ code: couponCode, userId: "alice" });
    expect(r).toMatchObject({ campaignId, sequence: 1n });
    const at = new Date(timestampMs(r.redeemedAt!)).toISOString();
    expect(await failure(s.json.redeemCoupon({ code: couponCode, userId: "alice" }))).toEqual({
      code: Code.AlreadyExists,
      message: `coupon ${couponCode} was already redeemed at ${at}`,
    });
    expect((await s.json.getCampaign({ campaignId })).campaign).toMatchObject({ issued: 1n, redeemed: 1n });
  });

  it("lets exactly one of 50 concurrent redemptions of a code win, persisted or still on the stream", async () => {
    const campaignId = await createCampaign(s.json, { total: 10 });
    const persisted = (await s.json.issueCoupon({ campaignId, userId: "bob" })).couponCode;
    await persistWithAPersister(s, campaignId);
    const fresh = (await s.json.issueCoupon({ campaignId, userId: "bob2" })).couponCode;

    for (const [code, userId] of [
      [persisted, "bob"],
      [fresh, "bob2"],
    ] as const) {
      const results = await Promise.allSettled(Array.from({ length: 50 }, () => s.json.redeemCoupon({ code, userId })));
      const won = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
      const lost = results.flatMap((r) => (r.status === "rejected" ? [ConnectError.from(r.reason)] : []));
      expect(won).toHaveLength(1);
      const at = new Date(timestampMs(won[0]!.redeemedAt!)).toISOString();
      expect(lost).toHaveLength(49);
      expect(new Set(lost.map((e) => `${e.code} ${e.rawMessage}`))).toEqual(
        new Set([`${Code.AlreadyExists} coupon ${code} was already redeemed at ${at}`]),
      );
    }
    const [rows] = await s.deps.mysqlPool.query<RowDataPacket[]>(
      "SELECT code, user_id, redeemed_by FROM coupon_issues WHERE campaign_id = ? AND redeemed_at IS NOT NULL ORDER BY sequence",
      [Number(campaignId)],
    );
    expect(rows.map((r) => [r.code, r.user_id, r.redeemed_by])).toEqual([
      [persisted, "bob", "bob"],
      [fresh, "bob2", "bob2"],
    ]);
    expect((await s.json.getCampaign({ campaignId, omitCodes: true })).campaign).toMatchObject({ redeemed: 2n });
  });

  it("counts each of 40 codes of one campaign redeemed at once exactly once, and VerifyCampaign agrees", async () => {
    const campaignId = await createCampaign(s.json, { total: 40 });
    const issued = await Promise.all(Array.from({ length: 40 }, (_, i) => s.json.issueCoupon({ campaignId, userId: `many${i}` })));
    await persistWithAPersister(s, campaignId);
    // Twice each, all at once: one call per code wins, and only that one is counted.
    const calls = issued.flatMap((r, i) => [0, 1].map(() => s.json.redeemCoupon({ code: r.couponCode, userId: `many${i}` })));
    const results = await Promise.allSettled(calls);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(40);
    expect((await s.json.getCampaign({ campaignId, omitCodes: true })).campaign).toMatchObject({ issued: 40n, redeemed: 40n });
    expect(await s.json.verifyCampaign({ campaignId })).toMatchObject({ redeemed: 40n, problems: [], ok: true });
  });

  it("redeems a code issued a moment ago, and the persister's later write keeps the redemption", async () => {
    const campaignId = await createCampaign(s.json, { total: 10 });
    const { couponCode, sequence } = await s.json.issueCoupon({ campaignId, userId: "carol" });
    expect(await s.deps.bulkRedis.xlen(s.deps.keys.campaign(campaignId).stream)).toBe(1);
    const r = await s.json.redeemCoupon({ code: couponCode, userId: "carol" });
    expect(r.sequence).toBe(sequence);

    await persistWithAPersister(s, campaignId);
    const [rows] = await s.deps.mysqlPool.query<RowDataPacket[]>(
      "SELECT user_id, redeemed_at FROM coupon_issues WHERE code = ?",
      [couponCode],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.user_id).toBe("carol");
    expect((rows[0]!.redeemed_at as Date).getTime()).toBe(timestampMs(r.redeemedAt!));
    expect((await s.json.getCampaign({ campaignId })).campaign).toMatchObject({ issued: 1n, persisted: 1n, redeemed: 1n });
  });

  it("lets anyone redeem a code issued to no one in particular", async () => {
    const campaignId = await createCampaign(s.json, { total: 10 });
    const { couponCode } = await s.json.issueCoupon({ campaignId });
    expect((await s.json.redeemCoupon({ code: couponCode, userId: "dave" })).campaignId).toBe(campaignId);
  });

  it("answers not_found for a well-formed code that does not exist or was never issued", async () => {
    const campaignId = await createCampaign(s.json, { total: 3 });
    const issued = (await s.json.issueCoupon({ campaignId, userId: "erin" })).couponCode;
    const [rows] = await s.deps.mysqlPool.query<RowDataPacket[]>(
      "SELECT code FROM coupons WHERE campaign_id = ? AND code <> ? LIMIT 1",
      [Number(campaignId), issued],
    );
    const unissued = rows[0]!.code as string;
    expect(await failure(s.json.redeemCoupon({ code: unissued, userId: "erin" }))).toEqual({
      code: Code.NotFound,
      message: `coupon ${unissued} does not exist or has not been issued`,
    });
    // Another campaign's secret range: well formed, never generated here.
    const other = "가가00가가가";
    expect(await failure(s.json.redeemCoupon({ code: other, userId: "erin" }))).toEqual({
      code: Code.NotFound,
      message: `coupon ${other} does not exist or has not been issued`,
    });
  });

  it("refuses a mistyped code with invalid_argument before touching Redis or MySQL", async () => {
    const campaignId = await createCampaign(s.json, { total: 3 });
    const { couponCode } = await s.json.issueCoupon({ campaignId, userId: "frank" });
    const typo = mistype(couponCode);
    const invalid = { code: Code.InvalidArgument, message: "code is not a valid coupon code: check it for a typo" };
    expect(await failure(s.json.redeemCoupon({ code: typo, userId: "frank" }))).toEqual(invalid);
    expect(await failure(s.json.redeemCoupon({ code: "", userId: "frank" }))).toEqual(invalid);

    // An instance whose Redis and MySQL connections are closed still answers a typo the same
    // way: it never needed them. A well-formed code on that instance finds them gone.
    const cut = await startTestService({ PERSISTER: "off" }, {}, ns);
    try {
      cut.deps.redis.disconnect();
      cut.deps.bulkRedis.disconnect();
      await cut.deps.mysqlPool.end();
      expect(await failure(cut.json.redeemCoupon({ code: typo, userId: "frank" }))).toEqual(invalid);
      expect((await failure(cut.json.redeemCoupon({ code: couponCode, userId: "frank" }))).code).toBe(Code.Unavailable);
    } finally {
      // Its connections are already closed, so closing them again fails: only the rest matters.
      await cut.stop().catch(() => undefined);
    }
    expect((await s.json.getCampaign({ campaignId })).campaign).toMatchObject({ state: CampaignState.OPEN, redeemed: 0n });
  });
});
