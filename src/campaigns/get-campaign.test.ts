import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CampaignState } from "../gen/couponpb/coupon_pb.js";
import { Persister } from "../persist/persister.js";
import {
  couponClient,
  createLoadedCampaign,
  startTestService,
  stopTestService,
  testNamespace,
  waitForPersisted,
  type TestService,
} from "../testing/harness.js";

// This instance runs without a persister, so the test decides when owners reach MySQL.
let s: TestService;
const ns = testNamespace();
beforeAll(async () => {
  s = await startTestService({ PERSISTER: "off" }, {}, ns);
});
afterAll(async () => {
  if (s) await stopTestService(s);
});

async function burst(campaignId: bigint, calls: number): Promise<string[]> {
  const client = couponClient(s.url, "json");
  const results = await Promise.allSettled(
    Array.from({ length: calls }, (_, i) => client.issueCoupon({ campaignId, userId: `reader-${i}` })),
  );
  return results.flatMap((r) => (r.status === "fulfilled" ? [r.value.couponCode] : []));
}

describe("GetCampaign", () => {
  it("lists exactly the issued codes right after a burst, before and after the persister catches up", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 500, name: "read your writes" });
    const issued = await burst(campaignId, 300);
    expect(issued).toHaveLength(300);

    const before = await s.json.getCampaign({ campaignId });
    expect(new Set(before.couponCodes)).toEqual(new Set(issued));
    expect(before.couponCodes).toHaveLength(300);
    expect(before.campaign).toMatchObject({
      id: campaignId,
      name: "read your writes",
      totalCoupons: 500n,
      issued: 300n,
      remaining: 200n,
      persisted: 0n,
      loaded: 500n,
      state: CampaignState.OPEN,
    });

    const persister = new Persister({ db: s.deps.db, redis: s.deps.bulkRedis, keys: s.deps.keys, logger: s.deps.logger });
    persister.start();
    try {
      await waitForPersisted(s.json, campaignId);
    } finally {
      await persister.stop();
    }
    const after = await s.binary.getCampaign({ campaignId });
    expect(after.couponCodes).toEqual(before.couponCodes);
    expect(after.campaign).toMatchObject({ issued: 300n, remaining: 200n, persisted: 300n });
    // Persisted entries leave the stream: Redis keeps only what MySQL does not have yet.
    expect(await s.deps.bulkRedis.xlen(s.deps.keys.campaign(campaignId).stream)).toBe(0);
  });

  it("lists codes in issue order and pages through them with ListIssuedCoupons", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 50 });
    const issued: string[] = [];
    for (let i = 0; i < 25; i++) issued.push((await s.json.issueCoupon({ campaignId, userId: `p${i}` })).couponCode);
    expect((await s.json.getCampaign({ campaignId })).couponCodes).toEqual(issued);

    const seen: string[] = [];
    let token = "";
    do {
      const page = await s.json.listIssuedCoupons({ campaignId, pageSize: 10, pageToken: token });
      for (const c of page.coupons) {
        expect(c.userId).toBe(`p${Number(c.sequence) - 1}`);
        expect(c.issuedAt).toBeDefined();
        seen.push(c.code);
      }
      token = page.nextPageToken;
    } while (token !== "");
    expect(seen).toEqual(issued);
  });

  it("is answered from MySQL by an instance whose Redis is empty", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 40 });
    const issued = await burst(campaignId, 30);
    const persister = new Persister({ db: s.deps.db, redis: s.deps.bulkRedis, keys: s.deps.keys, logger: s.deps.logger });
    persister.start();
    await waitForPersisted(s.json, campaignId);
    await persister.stop();

    // Same MySQL database, but Redis database 9 of the same server: empty for this namespace.
    const other = await startTestService({ REDIS_URL: "redis://127.0.0.1:6379/9", PERSISTER: "off" }, {}, ns);
    try {
      expect(await other.deps.bulkRedis.exists(other.deps.keys.campaign(campaignId).meta)).toBe(0);
      const view = await other.json.getCampaign({ campaignId });
      expect(new Set(view.couponCodes)).toEqual(new Set(issued));
      expect(view.campaign).toMatchObject({ issued: 30n, remaining: 10n, persisted: 30n, state: CampaignState.OPEN });
    } finally {
      await other.stop();
    }
    const [rows] = await s.deps.mysqlPool.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM coupon_issues WHERE campaign_id = ?", [
      Number(campaignId),
    ]);
    expect(rows[0]!.n).toBe(30);
  });
});
