import { ConnectError, Code } from "@connectrpc/connect";
import type { RowDataPacket } from "mysql2";
import { describe, expect, it } from "vitest";
import { isWellFormedCode } from "../codes/code-format.js";
import { runCli } from "../../scripts/campaign/run-cli.js";
import { StartupError } from "../deps.js";
import {
  couponClient,
  createLoadedCampaign,
  dropNamespace,
  startTestService,
  testConfig,
  testNamespace,
  waitForPersisted,
  type TestService,
} from "../testing/harness.js";
import { useServiceOnCluster } from "../testing/redis-cluster.js";
import type { Cluster } from "ioredis";

let s: TestService;
useServiceOnCluster((service) => (s = service));

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

  it("refuses a second deployment on the same namespace, until the CLI takes it over", async () => {
    const other = { database: testNamespace().database, prefix: s.config.REDIS_KEY_PREFIX };
    const onCluster = { REDIS_CLUSTER_NODES: s.config.REDIS_CLUSTER_NODES! };
    const refused = await startTestService(onCluster, undefined, other).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StartupError);
    expect((refused as Error).message).toContain(`REDIS_KEY_PREFIX="${other.prefix}" belongs to another deployment`);
    const owner = await s.deps.bulkRedis.get(`${other.prefix}deployment`);
    const config = testConfig(onCluster, other);
    const done = await runCli("http://127.0.0.1:1", ["take-over-namespace", "--from", owner!], {
      DATABASE_URL: config.DATABASE_URL,
      REDIS_CLUSTER_NODES: onCluster.REDIS_CLUSTER_NODES,
      REDIS_KEY_PREFIX: other.prefix,
    });
    expect(done).toMatchObject({ code: 0, stderr: "" });
    const taker = await startTestService({ ...onCluster, PERSISTER: "off" }, undefined, other);
    await taker.stop();
    await dropNamespace(config);
  });
});
