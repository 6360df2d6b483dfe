import { ConnectError, Code } from "@connectrpc/connect";
import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isWellFormedCode } from "../codes/code-format.js";
import { couponClient, createLoadedCampaign, waitForPersisted, type TestService } from "../testing/harness.js";
import { startTestServiceOnCluster } from "../testing/redis-cluster.js";
import type { Cluster } from "ioredis";

let s: TestService;
let stop: (() => Promise<void>) | undefined;
beforeAll(async () => {
  const started = await startTestServiceOnCluster();
  s = started.service;
  stop = started.stop;
});
afterAll(async () => {
  await stop?.();
});

describe("on a three-master Redis Cluster", () => {
  it("issues exactly, persists every owner, with campaigns spread over different masters", async () => {
    const client = couponClient(s.url, "binary", 64);
    const campaigns = [];
    for (let i = 0; i < 4; i++) campaigns.push((await createLoadedCampaign(s.json, { total: 300 })).campaignId);

    // The campaigns' pools live on more than one master: the hash tag {id} spreads them.
    const masters = (s.deps.bulkRedis as Cluster).nodes("master");
    const homes = new Set<number>();
    for (const id of campaigns) {
      const pool = s.deps.keys.campaign(id).pool;
      for (const [n, node] of masters.entries()) {
        // A master that does not own the key's slot answers MOVED.
        const here = await node.exists(pool).catch(() => 0);
        if (here === 1) homes.add(n);
      }
    }
    expect(homes.size).toBeGreaterThan(1);

    for (const campaignId of campaigns) {
      const results = await Promise.allSettled(
        Array.from({ length: 450 }, (_, i) => client.issueCoupon({ campaignId, userId: `c${campaignId}-${i}` })),
      );
      const codes = results.flatMap((r) => (r.status === "fulfilled" ? [r.value.couponCode] : []));
      const refused = results.flatMap((r) => (r.status === "rejected" ? [ConnectError.from(r.reason).code] : []));
      expect(codes).toHaveLength(300);
      expect(new Set(codes).size).toBe(300);
      expect(codes.every(isWellFormedCode)).toBe(true);
      expect(refused.every((c) => c === Code.ResourceExhausted)).toBe(true);
      await waitForPersisted(s.json, campaignId);
      const [rows] = await s.deps.mysqlPool.query<RowDataPacket[]>("SELECT code FROM coupon_issues WHERE campaign_id = ?", [
        Number(campaignId),
      ]);
      expect(new Set(rows.map((r) => r.code))).toEqual(new Set(codes));
      expect((await s.json.getCampaign({ campaignId })).couponCodes).toHaveLength(300);
    }
  });
});
