import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { RowDataPacket } from "mysql2";
import mysql from "mysql2/promise";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config.js";
import { CampaignState } from "../gen/couponpb/coupon_pb.js";
import { startChildService, type ChildService } from "../testing/child-service.js";
import { recordFault } from "../testing/fault-report.js";
import { couponClient, dropNamespace, TEST_MYSQL_URI, testNamespace, waitFor } from "../testing/harness.js";

/** Fault 7: the instance loading a 1,000,000-code campaign is killed halfway. */
const TOTAL = 1_000_000;
const ns = testNamespace();
// A short load lease, so the survivor takes over within seconds rather than the default 15 s.
const env = { DATABASE_URL: `${TEST_MYSQL_URI}/${ns.database}`, REDIS_KEY_PREFIX: ns.prefix, WORKERS: "1", LOAD_LEASE_MS: "3000" };
const children: ChildService[] = [];

afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  await Promise.all(children.map((c) => c.exited));
  await dropNamespace(loadConfig(env));
});

describe("a CreateCampaign interrupted halfway through loading its pool", () => {
  it("never issues from the half pool, and another instance finishes it into a consistent campaign", async () => {
    const [loader, survivor] = await Promise.all([startChildService(env), startChildService(env)]);
    children.push(loader, survivor);
    const viaLoader = couponClient(loader.url, "json");
    const client = couponClient(survivor.url, "json");
    const { campaignId } = await viaLoader.createCampaign({
      name: "a million",
      startTime: timestampFromMs(Date.now() - 1000),
      totalCoupons: BigInt(TOTAL),
    });
    await waitFor("the load to be well under way", async () => {
      const c = (await client.getCampaign({ campaignId })).campaign;
      return c && c.loaded >= 100_000n ? true : undefined;
    }, 120_000);
    loader.kill("SIGKILL");
    expect(await loader.exited).toBe("SIGKILL");
    const killedAt = performance.now();

    // Until the pool is whole again, every call is refused as loading: never a code from half a pool.
    let refused = 0;
    const first = await waitFor(
      "the survivor to finish the load and open the campaign",
      async () => {
        try {
          return await client.issueCoupon({ campaignId, userId: "first" });
        } catch (e) {
          const err = ConnectError.from(e);
          expect(err.code).toBe(Code.FailedPrecondition);
          expect(err.rawMessage).toBe(`campaign ${campaignId} is still loading its coupon pool; try again shortly`);
          refused++;
          return undefined;
        }
      },
      180_000,
      250,
    );
    const recoveryMs = performance.now() - killedAt;
    expect(refused).toBeGreaterThan(0);
    expect(first.sequence).toBe(1n);

    const campaign = (await client.getCampaign({ campaignId })).campaign!;
    expect(campaign).toMatchObject({ state: CampaignState.OPEN, loaded: BigInt(TOTAL), issued: 1n, remaining: BigInt(TOTAL - 1) });
    const conn = await mysql.createConnection({ uri: `${TEST_MYSQL_URI}/${ns.database}` });
    const [rows] = await conn.query<RowDataPacket[]>(
      "SELECT COUNT(*) AS n, COUNT(DISTINCT code) AS d, MIN(seq) AS lo, MAX(seq) AS hi FROM coupons WHERE campaign_id = ?",
      [Number(campaignId)],
    );
    await conn.end();
    expect(rows[0]).toMatchObject({ n: TOTAL, d: TOTAL, lo: 1, hi: TOTAL });

    recordFault({
      fault: "instance killed while loading a 1,000,000-code campaign, `src/campaigns/interrupted-create.faults.test.ts`",
      behaviour: "IssueCoupon answers `failed_precondition` (loading) meanwhile; another instance takes the expired load lease and reloads the pool from scratch",
      calls: refused + 1,
      issued: 1,
      duplicates: 0,
      lostOwners: 0,
      recoveryMs,
    });
  });
});
