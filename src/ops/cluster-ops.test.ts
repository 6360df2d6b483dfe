import { describe, expect, it } from "vitest";
import { couponClient, createLoadedCampaign, type TestService } from "../testing/harness.js";
import { useServiceOnCluster } from "../testing/redis-cluster.js";
import { readLiveFigures } from "./live-figures.js";
import { redisNowMs, waitForIssuesPersisted } from "./shutdown.js";

// The reads that span campaigns (metrics, the shutdown wait, ListCampaigns) must work when the
// campaigns' keys live on different masters of a Redis Cluster.
let s: TestService;
useServiceOnCluster((service) => (s = service));

describe("ops on a three-master Redis Cluster", () => {
  it("reports each open campaign's pool and the persister lag, waits for persisting and lists campaigns", async () => {
    const ids: bigint[] = [];
    for (let i = 0; i < 4; i++) ids.push((await createLoadedCampaign(s.json, { total: 50 })).campaignId);
    const client = couponClient(s.url, "binary");
    for (const [n, campaignId] of ids.entries()) {
      for (let u = 0; u <= n; u++) await client.issueCoupon({ campaignId, userId: `u${u}` });
    }

    const figures = await readLiveFigures(s.deps.bulkRedis, s.deps.keys);
    expect(Object.fromEntries(figures.poolRemaining)).toEqual(Object.fromEntries(ids.map((id, n) => [String(id), 50 - (n + 1)])));

    const left = await waitForIssuesPersisted(s.deps.bulkRedis, s.deps.keys, await redisNowMs(s.deps.bulkRedis), Date.now() + 20_000);
    expect(left).toBe(0);
    expect((await readLiveFigures(s.deps.bulkRedis, s.deps.keys)).lagEntries).toBe(0);

    const res = await fetch(`${s.url}/metrics`);
    const text = await res.text();
    for (const [n, id] of ids.entries()) expect(text).toContain(`coupon_pool_remaining{campaign_id="${id}"} ${50 - (n + 1)}`);
    expect(text).toContain('coupon_dependency_errors_total{dependency="redis",source="request"} 0');

    const listed = await s.json.listCampaigns({ campaignIds: ids });
    expect(listed.campaigns.map((c) => [c.id, c.issued, c.persisted])).toEqual(
      [...ids].reverse().map((id) => [id, BigInt(ids.indexOf(id) + 1), BigInt(ids.indexOf(id) + 1)]),
    );
  });
});
