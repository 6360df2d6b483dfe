import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CampaignState } from "../gen/couponpb/coupon_pb.js";
import { createLoadedCampaign, startTestService, stopTestService, waitForPersisted, type TestService } from "../testing/harness.js";

let s: TestService;
beforeAll(async () => {
  s = await startTestService();
});
afterAll(async () => {
  if (s) await stopTestService(s);
});

async function refusal(call: Promise<unknown>): Promise<[Code, string] | "ok"> {
  try {
    await call;
    return "ok";
  } catch (err) {
    const e = ConnectError.from(err);
    return [e.code, e.rawMessage];
  }
}

describe("ListCampaigns", () => {
  it("pages through every campaign newest first, each with the counts and state GetCampaign reports", async () => {
    const ids: bigint[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createLoadedCampaign(s.json, { total: 10 + i, name: `list ${i}` })).campaignId);
    await s.json.issueCoupon({ campaignId: ids[4]!, userId: "a" });
    await s.json.issueCoupon({ campaignId: ids[4]!, userId: "b" });
    await waitForPersisted(s.json, ids[4]!);

    const pages: bigint[][] = [];
    let pageToken = "";
    do {
      const page = await s.json.listCampaigns({ pageSize: 2, pageToken });
      pages.push(page.campaigns.map((c) => c.id));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(pages).toEqual([[ids[4], ids[3]], [ids[2], ids[1]], [ids[0]]]);

    const first = (await s.binary.listCampaigns({ pageSize: 1 })).campaigns[0]!;
    expect(first).toEqual((await s.binary.getCampaign({ campaignId: ids[4]! })).campaign);
    expect(first).toMatchObject({ name: "list 4", totalCoupons: 14n, issued: 2n, remaining: 12n, persisted: 2n, state: CampaignState.OPEN });
  });

  it("reads only the campaigns asked for by id, newest first, leaving unknown ids out", async () => {
    const a = await createLoadedCampaign(s.json, { total: 3 });
    const b = await createLoadedCampaign(s.json, { total: 4, startMs: Date.now() + 3_600_000 });
    const page = await s.json.listCampaigns({ campaignIds: [a.campaignId, 999_999n, b.campaignId] });
    expect(page.campaigns.map((c) => [c.id, c.state])).toEqual([
      [b.campaignId, CampaignState.SCHEDULED],
      [a.campaignId, CampaignState.OPEN],
    ]);
    expect(page.nextPageToken).toBe("");
  });

  it("shows a campaign that is still loading its pool", async () => {
    const { campaignId } = await s.json.createCampaign({ name: "big", startTime: timestampFromMs(Date.now()), totalCoupons: 30_000n });
    const listed = (await s.json.listCampaigns({ campaignIds: [campaignId] })).campaigns[0]!;
    expect(listed.state).toBe(CampaignState.LOADING);
    expect(listed.loaded).toBeLessThan(30_000n);
    await s.deps.loader.idle();
  });

  it("refuses a page size, page token or id list it cannot serve, naming the field", async () => {
    expect(await refusal(s.json.listCampaigns({ pageSize: 1001 }))).toEqual([
      Code.InvalidArgument,
      "page_size must be between 0 and 1000, got 1001",
    ]);
    expect(await refusal(s.json.listCampaigns({ pageToken: "abc" }))).toEqual([
      Code.InvalidArgument,
      "page_token is not a token this service returned",
    ]);
    expect(await refusal(s.json.listCampaigns({ campaignIds: [0n] }))).toEqual([
      Code.InvalidArgument,
      "campaign_id must be a positive integer, got 0",
    ]);
    expect(await refusal(s.json.listCampaigns({ campaignIds: Array.from({ length: 1001 }, (_, i) => BigInt(i + 1)) }))).toEqual([
      Code.InvalidArgument,
      "campaign_ids must name at most 1000 campaigns",
    ]);
  });
});
