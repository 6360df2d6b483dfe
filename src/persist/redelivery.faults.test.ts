import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordFault } from "../testing/fault-report.js";
import { couponClient, createLoadedCampaign, startTestService, stopTestService, waitFor, type TestService } from "../testing/harness.js";
import { Persister, type PersisterOptions } from "./persister.js";

/** Fault 2: the persister dies between its MySQL commit and its XACK. */
let s: TestService;
beforeAll(async () => {
  s = await startTestService({ PERSISTER: "off" });
});
afterAll(async () => {
  if (s) await stopTestService(s);
});

class SimulatedCrash extends Error {}

function persister(options: Partial<PersisterOptions>) {
  return new Persister({ db: s.deps.db, redis: s.deps.bulkRedis, keys: s.deps.keys, logger: s.deps.logger }, options);
}

async function issuesInMysql(campaignId: bigint) {
  const [rows] = await s.deps.mysqlPool.query<RowDataPacket[]>(
    "SELECT sequence, code, user_id, issued_at FROM coupon_issues WHERE campaign_id = ? ORDER BY sequence",
    [Number(campaignId)],
  );
  return rows.map((r) => ({ ...r }));
}

describe("a persister killed between COMMIT and XACK", () => {
  it("lets another persister redeliver the batch without writing anything twice or changing an owner", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 400 });
    const client = couponClient(s.url, "json");
    const got = await Promise.all(Array.from({ length: 400 }, (_, i) => client.issueCoupon({ campaignId, userId: `r${i}` })));
    const stream = s.deps.keys.campaign(campaignId).stream;

    // The first persister commits one batch, then "dies" before acknowledging it.
    const doomed = persister({
      batchSize: 400,
      afterCommit: () => {
        throw new SimulatedCrash("killed between COMMIT and XACK");
      },
    });
    await expect(doomed.runOnce()).rejects.toBeInstanceOf(SimulatedCrash);
    const afterCrash = await issuesInMysql(campaignId);
    expect(afterCrash).toHaveLength(400);
    expect(await s.deps.bulkRedis.xlen(stream)).toBe(400); // nothing acknowledged or deleted

    // A live persister claims the dead one's pending entries once they are idle, and writes them again.
    const survivor = persister({ claimIdleMs: 200, claimEveryMs: 0 });
    const startedAt = performance.now();
    await waitFor("the survivor to claim and acknowledge the batch", async () => {
      await survivor.runOnce();
      return (await s.deps.bulkRedis.xlen(stream)) === 0 ? true : undefined;
    });
    const recoveryMs = performance.now() - startedAt;
    const afterRedelivery = await issuesInMysql(campaignId);
    expect(afterRedelivery).toEqual(afterCrash);
    const owners = new Map(afterRedelivery.map((r) => [r.user_id as string, r.code as string]));
    const lost = got.filter((r, i) => owners.get(`r${i}`) !== r.couponCode).length;
    expect(lost).toBe(0);
    expect((await s.json.getCampaign({ campaignId })).campaign).toMatchObject({ issued: 400n, persisted: 400n });

    recordFault({
      fault: "persister dies between MySQL COMMIT and XACK, `src/persist/redelivery.faults.test.ts`",
      behaviour: "the batch stays pending; another consumer claims it after the idle time and rewrites it: no row twice, no owner changed",
      calls: 400,
      issued: afterRedelivery.length,
      duplicates: afterRedelivery.length - new Set(afterRedelivery.map((r) => r.code)).size,
      lostOwners: lost,
      recoveryMs,
    });
  });

  it("rewrites its own unacknowledged batch on its next pass when it survives the failure", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 50 });
    await Promise.all(Array.from({ length: 50 }, (_, i) => s.json.issueCoupon({ campaignId, userId: `own${i}` })));
    let failOnce = true;
    const p = persister({
      afterCommit: () => {
        if (failOnce) {
          failOnce = false;
          throw new SimulatedCrash("XACK lost");
        }
      },
    });
    await expect(p.runOnce()).rejects.toBeInstanceOf(SimulatedCrash);
    expect(await s.deps.bulkRedis.xlen(s.deps.keys.campaign(campaignId).stream)).toBe(50); // not acknowledged
    const first = await issuesInMysql(campaignId);
    expect(first).toHaveLength(50);
    await p.runOnce();
    expect(await s.deps.bulkRedis.xlen(s.deps.keys.campaign(campaignId).stream)).toBe(0);
    expect(await issuesInMysql(campaignId)).toEqual(first);
  });
});
