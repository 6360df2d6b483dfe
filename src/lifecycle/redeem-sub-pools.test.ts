import type { RowDataPacket } from "mysql2";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { persistWithAPersister, startTestService, stopTestService, type TestService } from "../testing/harness.js";
import { createCampaign, failure, usersHomedAt } from "./lifecycle-testing.js";

const K = 4;

// No persister: the codes stay on their sub-pools' streams until the test persists them.
let s: TestService;
beforeAll(async () => {
  s = await startTestService({ PERSISTER: "off" });
});
afterAll(async () => {
  if (s) await stopTestService(s);
});

describe("RedeemCoupon on a campaign of 4 sub-pools", () => {
  it("redeems a code of sub-pool 3 still on that sub-pool's stream, for its owner only, once", async () => {
    const campaignId = await createCampaign(s.json, { total: 40, shards: K });
    const [alice] = usersHomedAt(3, K, 1, "alice-");
    const issued = await s.json.issueCoupon({ campaignId, userId: alice! });
    // Sub-pool 3's first issue.
    expect(issued.sequence).toBe(4n);
    const [owners] = await s.deps.mysqlPool.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM coupon_issues WHERE campaign_id = ?", [
      Number(campaignId),
    ]);
    expect(Number(owners[0]!.n)).toBe(0);

    expect(await failure(s.json.redeemCoupon({ code: issued.couponCode, userId: "mallory" }))).toEqual({
      code: Code.PermissionDenied,
      message: `coupon ${issued.couponCode} was issued to another user`,
    });
    expect(await s.json.redeemCoupon({ code: issued.couponCode, userId: alice! })).toMatchObject({ campaignId, sequence: 4n });
    expect((await failure(s.json.redeemCoupon({ code: issued.couponCode, userId: alice! }))).code).toBe(Code.AlreadyExists);

    // The persister's later write of the same issue keeps the redemption.
    await persistWithAPersister(s, campaignId);
    expect((await s.json.getCampaign({ campaignId })).campaign).toMatchObject({ issued: 1n, persisted: 1n, redeemed: 1n });
    expect(await s.json.verifyCampaign({ campaignId })).toMatchObject({ redeemed: 1n, problems: [], ok: true });
  });
});
