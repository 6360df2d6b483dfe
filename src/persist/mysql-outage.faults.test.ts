import { Code, ConnectError } from "@connectrpc/connect";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { RowDataPacket } from "mysql2";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { couponClient, createLoadedCampaign, startTestService, stopTestService, TEST_MYSQL_URI, waitForPersisted, type TestService } from "../testing/harness.js";
import { recordFault } from "../testing/fault-report.js";
import { TcpProxy } from "../testing/tcp-proxy.js";

/** Fault 3: MySQL unreachable for 30 s during a burst. The service reaches MySQL through a proxy. */
const OUTAGE_MS = 30_000;

let proxy: TcpProxy;
let s: TestService;
beforeAll(async () => {
  proxy = await new TcpProxy("127.0.0.1", 3306).start();
  s = await startTestService({ DATABASE_URL: `mysql://root@127.0.0.1:${proxy.port}/${`coupons_test_mysqlcut_${process.pid}`}` });
});
afterAll(async () => {
  await proxy?.set("pass");
  if (s) await stopTestService(s);
  await proxy?.stop();
});

describe("MySQL unreachable during a burst", () => {
  it("keeps issuing, refuses to create campaigns, and writes every owner once MySQL is back", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 50_000 });
    const client = couponClient(s.url, "binary", 64);
    const received = new Map<string, string>();
    const issue = async (user: string) => {
      const r = await client.issueCoupon({ campaignId, userId: user });
      received.set(user, r.couponCode);
    };

    await proxy.set("refuse");
    const cutAt = Date.now();
    // Callers keep coming for the whole outage: MySQL is not on the issue path.
    let wave = 0;
    while (Date.now() - cutAt < OUTAGE_MS) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => issue(`w${wave}-u${i}`)));
      wave++;
      if (wave === 3) {
        const create = await s.json
          .createCampaign({ name: "during outage", startTime: timestampFromMs(Date.now()), totalCoupons: 10n })
          .catch((e: unknown) => ConnectError.from(e));
        expect(create).toBeInstanceOf(ConnectError);
        expect((create as ConnectError).code).toBe(Code.Unavailable);
        expect((create as ConnectError).rawMessage).toBe(
          "the campaign database (MySQL) is unavailable; the campaign was not created",
        );
        // Owners wait in Redis: the stream holds every issue so far, none acknowledged.
        expect(await s.deps.bulkRedis.xlen(s.deps.keys.campaign(campaignId).stream)).toBe(received.size);
      }
      await new Promise((r) => setTimeout(r, 250)); // pacing of the callers, not a wait for a result
    }
    expect(received.size).toBe(wave * 100);

    await proxy.set("pass");
    const restoredAt = performance.now();
    await waitForPersisted(s.json, campaignId, 60_000);
    const recoveryMs = performance.now() - restoredAt;

    const conn = await mysql.createConnection({ uri: `${TEST_MYSQL_URI}/coupons_test_mysqlcut_${process.pid}` });
    try {
      const [rows] = await conn.query<RowDataPacket[]>("SELECT user_id, code FROM coupon_issues WHERE campaign_id = ?", [Number(campaignId)]);
      expect(rows).toHaveLength(received.size);
      for (const r of rows) expect(received.get(r.user_id)).toBe(r.code);
      recordFault({
        fault: `MySQL unreachable for ${OUTAGE_MS / 1000} s during a burst, \`src/persist/mysql-outage.faults.test.ts\``,
        behaviour: "issuing goes on from Redis; CreateCampaign answers `unavailable`; the persister backs off and retries; every owner written once MySQL is back",
        calls: received.size + 1,
        issued: received.size,
        duplicates: received.size - new Set(received.values()).size,
        lostOwners: rows.filter((r) => received.get(r.user_id) !== r.code).length + (received.size - rows.length),
        recoveryMs,
      });
    } finally {
      await conn.end();
    }
  });
});
