import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { RowDataPacket } from "mysql2";
import mysql from "mysql2/promise";
import { afterAll, describe, expect, it } from "vitest";
import type { CouponService } from "../gen/couponpb/coupon_pb.js";
import { startChildService, type ChildService } from "../testing/child-service.js";
import { recordFault } from "../testing/fault-report.js";
import { couponClient, createLoadedCampaign, dropNamespace, TEST_MYSQL_URI, testNamespace, waitForPersisted } from "../testing/harness.js";
import { loadConfig } from "../config.js";

/**
 * Fault 1: one of two instances is killed with SIGKILL in the middle of a burst. Callers are
 * spread over both; a caller whose call fails on the dead one retries on the survivor with the
 * same user id (as a real client would).
 */
const TOTAL = 2000;
const CALLERS = 3000;
const ns = testNamespace();
const env = {
  DATABASE_URL: `${TEST_MYSQL_URI}/${ns.database}`,
  REDIS_KEY_PREFIX: ns.prefix,
  WORKERS: "1",
  PERSISTER_CLAIM_IDLE_MS: "1500",
};
const children: ChildService[] = [];

afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  await Promise.all(children.map((c) => c.exited));
  await dropNamespace(loadConfig(env));
});

describe("an instance killed with SIGKILL mid-burst", () => {
  it("loses no owner, issues no code twice, and issues every code once callers retry on the survivor", async () => {
    const [victim, survivor] = await Promise.all([startChildService(env), startChildService(env)]);
    children.push(victim, survivor);
    const clients: Record<string, Client<typeof CouponService>> = {
      victim: couponClient(victim.url, "binary", 50),
      survivor: couponClient(survivor.url, "binary", 50),
    };
    const { campaignId } = await createLoadedCampaign(clients.survivor!, { total: TOTAL });

    const received = new Map<string, string>();
    let calls = 0;
    let killed = false;
    let retried = 0;
    const call = async (i: number) => {
      const user = `crash-${i}`;
      let target = i % 2 === 0 ? "victim" : "survivor";
      for (let attempt = 0; attempt < 20; attempt++) {
        calls++;
        try {
          const r = await clients[target]!.issueCoupon({ campaignId, userId: user });
          received.set(user, r.couponCode);
          if (!killed && received.size >= TOTAL / 3) {
            killed = true;
            victim.kill("SIGKILL");
          }
          return;
        } catch (e) {
          const err = ConnectError.from(e);
          if (err.code === Code.ResourceExhausted) return;
          target = "survivor"; // the victim is gone (or going): retry where the service lives on
          retried++;
        }
      }
      throw new Error(`caller ${user} never got an answer`);
    };
    // 100 callers at a time, each working through its share of user ids.
    await Promise.all(
      Array.from({ length: 100 }, async (_, lane) => {
        for (let i = lane; i < CALLERS; i += 100) await call(i);
      }),
    );
    expect(killed).toBe(true);
    expect(await victim.exited).toBe("SIGKILL");
    expect(retried).toBeGreaterThan(0);

    const codes = [...received.values()];
    expect(new Set(codes).size).toBe(codes.length); // no code to two callers
    expect(received.size).toBe(TOTAL); // issued = total once callers retried

    // The survivor claims what the victim had read but not written, and persists everything.
    const started = performance.now();
    const campaign = await waitForPersisted(clients.survivor!, campaignId, 60_000);
    const recoveryMs = performance.now() - started;
    expect(campaign).toMatchObject({ issued: BigInt(TOTAL), persisted: BigInt(TOTAL), remaining: 0n });
    const conn = await mysql.createConnection({ uri: `${TEST_MYSQL_URI}/${ns.database}` });
    const [rows] = await conn.query<RowDataPacket[]>("SELECT user_id, code FROM coupon_issues WHERE campaign_id = ?", [Number(campaignId)]);
    await conn.end();
    const lost = [...received].filter(([user, code]) => !rows.some((r) => r.user_id === user && r.code === code)).length;
    expect(rows).toHaveLength(TOTAL);
    expect(lost).toBe(0);

    recordFault({
      fault: "one of two instances killed with SIGKILL mid-burst, `src/persist/instance-crash.faults.test.ts`",
      behaviour: "callers retry on the survivor and get the same code for the same user; the survivor claims the dead consumer's pending issues and persists them",
      calls,
      issued: rows.length,
      duplicates: codes.length - new Set(codes).size,
      lostOwners: lost,
      recoveryMs,
    });
  });
});
