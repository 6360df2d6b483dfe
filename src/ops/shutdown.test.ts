import type { RowDataPacket } from "mysql2";
import mysql from "mysql2/promise";
import { afterAll, describe, expect, it } from "vitest";
import { CampaignState } from "../gen/couponpb/coupon_pb.js";
import {
  couponClient,
  createLoadedCampaign,
  startTestService,
  stopTestService,
  TEST_MYSQL_URI,
  testNamespace,
  waitFor,
} from "../testing/harness.js";
import { spawnLoggedService } from "../testing/logged-service.js";

const ns = testNamespace();
const TOTAL = 3000;
const CALLERS = 6000;

afterAll(async () => {
  // Drops the database and keys whatever happened above.
  const s = await startTestService({ PERSISTER: "off" }, {}, ns);
  await stopTestService(s);
});

// One process (the instance's own shutdown), and the node:cluster primary `npm start` runs on a
// 2-core machine, which passes the signal on to its two workers.
describe.each(["1", "2"])("graceful shutdown with WORKERS=%s", (workers) => {
  it("on SIGTERM in the middle of a burst exits 0 with every code a caller received in MySQL, with its owner", async () => {
    const { child, logs, url, exited } = spawnLoggedService(ns, { workers });
    const base = await url;
    const admin = couponClient(base, "json");
    const { campaignId } = await createLoadedCampaign(admin, { total: TOTAL });

    const client = couponClient(base, "binary", 64);
    const received = new Map<string, string>(); // code → user
    let failed = 0;
    const calls = Array.from({ length: CALLERS }, (_, i) =>
      client.issueCoupon({ campaignId, userId: `sig-${i}` }).then(
        (r) => void received.set(r.couponCode, `sig-${i}`),
        () => void failed++,
      ),
    );
    await waitFor("the burst to be under way", () => (received.size >= 300 ? true : undefined), 60_000, 1);
    child.kill("SIGTERM");
    await Promise.all(calls);
    const [code, signal] = await exited;

    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(logs.map((l) => l.msg)).toEqual(expect.arrayContaining(["shutting down", "HTTP drained", "stopped"]));
    // The burst was cut: some callers were served, the later ones found the service gone.
    expect(received.size).toBeGreaterThanOrEqual(300);
    expect(received.size).toBeLessThan(TOTAL);
    expect(failed).toBe(CALLERS - received.size);

    // MySQL holds exactly the codes callers received, each with the caller as its owner: nothing
    // a caller got is missing, and nothing was issued that no caller got.
    const conn = await mysql.createConnection({ uri: `${TEST_MYSQL_URI}/${ns.database}` });
    const [rows] = await conn.query<RowDataPacket[]>(
      "SELECT code, user_id FROM coupon_issues WHERE campaign_id = ?",
      [Number(campaignId)],
    );
    await conn.end();
    expect(new Map(rows.map((r) => [r.code as string, r.user_id as string]))).toEqual(received);

    // Started again, the service agrees: everything issued is persisted, nothing is pending.
    const again = await startTestService({ PERSISTER: "off" }, {}, ns);
    try {
      const view = await again.json.getCampaign({ campaignId });
      expect(view.campaign).toMatchObject({
        issued: BigInt(received.size),
        persisted: BigInt(received.size),
        remaining: BigInt(TOTAL - received.size),
        state: CampaignState.OPEN,
      });
      expect(new Set(view.couponCodes)).toEqual(new Set(received.keys()));
      expect(await again.deps.bulkRedis.xlen(again.deps.keys.campaign(campaignId).stream)).toBe(0);
    } finally {
      await again.stop();
    }
  });
});
