import { once } from "node:events";
import { connect } from "node:net";
import { ConnectError } from "@connectrpc/connect";
import type { RowDataPacket } from "mysql2";
import mysql from "mysql2/promise";
import { afterAll, describe, expect, it } from "vitest";
import { REPEATED_SIGNAL_MS } from "../ops/shutdown.js";
import { recordFault } from "../testing/fault-report.js";
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

/**
 * Ctrl-C on `npm start`: SIGINT to the whole process group (the primary and every worker), as a
 * terminal or systemd sends it; and SIGTERM the same way. Each worker hears one order, from the
 * primary, and stops gracefully in the middle of a burst. A second Ctrl-C a moment later still
 * makes everything exit at once.
 */
const ns = testNamespace();
const TOTAL = 3000;
const CALLERS = 6000;
const SHUTDOWN_TIMEOUT_MS = 10_000;

afterAll(async () => {
  const s = await startTestService({ PERSISTER: "off" }, {}, ns);
  await stopTestService(s);
});

describe.each(["SIGINT", "SIGTERM"] as const)("%s to the whole process group in the middle of a burst (WORKERS=2)", (signal) => {
  it("answers or cleanly refuses every call, has every answered issue in MySQL, and exits 0 within the bound", async () => {
    const { child, logs, url, exited } = spawnLoggedService(ns, {
      workers: "2",
      // Both workers serve before the burst, so both are in the middle of it when the signal comes.
      readyWorkers: 2,
      detached: true,
      env: { SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) },
    });
    const base = await url;
    const admin = couponClient(base, "json");
    const { campaignId } = await createLoadedCampaign(admin, { total: TOTAL });

    const client = couponClient(base, "binary", 64);
    const received = new Map<string, string>(); // code → user
    const refusals = new Map<string, number>(); // how each refused call was refused
    const calls = Array.from({ length: CALLERS }, (_, i) =>
      client.issueCoupon({ campaignId, userId: `grp-${i}` }).then(
        (r) => void received.set(r.couponCode, `grp-${i}`),
        (e: unknown) => {
          const why = ConnectError.from(e).rawMessage.replace(/\d+/g, "N");
          refusals.set(why, (refusals.get(why) ?? 0) + 1);
        },
      ),
    );
    await waitFor("the burst to be under way", () => (received.size >= 300 ? true : undefined), 60_000, 1);
    const signalledMs = Date.now();
    process.kill(-child.pid!, signal);
    await Promise.all(calls);
    const [code, exitSignal] = await exited;
    const stopMs = Date.now() - signalledMs;

    expect({ code, signal: exitSignal }).toEqual({ code: 0, signal: null });
    expect(stopMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 2000);
    const msgs = logs.map((l) => l.msg);
    // Each worker stopped once, gracefully; none was told to exit at once.
    expect(msgs.filter((m) => m === "shutting down")).toHaveLength(2);
    expect(msgs.filter((m) => m === "stopped")).toHaveLength(2);
    expect(msgs.some((m) => /exit(ing)? now/.test(m))).toBe(false);
    expect(received.size).toBeGreaterThanOrEqual(300);
    expect(received.size).toBeLessThan(TOTAL);

    // MySQL holds exactly the codes callers received, each with its caller: every call the
    // service took was answered (nothing issued that no caller got), every answer persisted.
    const conn = await mysql.createConnection({ uri: `${TEST_MYSQL_URI}/${ns.database}` });
    const [rows] = await conn.query<RowDataPacket[]>("SELECT code, user_id FROM coupon_issues WHERE campaign_id = ?", [
      Number(campaignId),
    ]);
    await conn.end();
    expect(new Map(rows.map((r) => [r.code as string, r.user_id as string]))).toEqual(received);
    const again = await startTestService({ PERSISTER: "off" }, {}, ns);
    try {
      const view = await again.json.getCampaign({ campaignId });
      expect(view.campaign).toMatchObject({ issued: BigInt(received.size), persisted: BigInt(received.size) });
    } finally {
      await again.stop();
    }
    recordFault({
      fault: `${signal} to the whole process group of \`npm start\` (primary + 2 workers) mid-burst`,
      behaviour:
        `each worker stops once, on the primary's order (the group's copy is ignored): exit 0 in ${(stopMs / 1000).toFixed(1)} s; ` +
        `calls not taken were refused (${[...refusals.entries()].map(([m, n]) => `${n}× "${m}"`).join(", ") || "none"}); every answered issue in MySQL`,
      calls: CALLERS,
      issued: received.size,
      duplicates: 0,
      lostOwners: received.size - rows.length,
    });
  });
});

describe("a second Ctrl-C", () => {
  it("a moment after the first, makes the primary and every worker exit at once", async () => {
    const { child, logs, url, exited } = spawnLoggedService(ns, {
      workers: "2",
      // Both workers serve before the burst, so both are in the middle of it when the signal comes.
      readyWorkers: 2,
      detached: true,
      env: { SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) },
    });
    const base = new URL(await url);
    // A request that never finishes keeps the graceful stop waiting on its drain.
    const hanging = connect(Number(base.port), base.hostname);
    await once(hanging, "connect");
    hanging.write("POST /couponpb.CouponService/IssueCoupon HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{");
    hanging.on("error", () => undefined);
    await new Promise((r) => setTimeout(r, 200)); // let a worker take the connection
    process.kill(-child.pid!, "SIGINT");
    const firstMs = Date.now();
    await waitFor("the workers to start stopping", () =>
      logs.filter((l) => l.msg === "shutting down").length === 2 ? true : undefined,
    );
    // A person's second press, not the same one delivered twice (REPEATED_SIGNAL_MS).
    await new Promise((r) => setTimeout(r, Math.max(0, firstMs + REPEATED_SIGNAL_MS + 200 - Date.now())));
    expect(child.exitCode).toBeNull(); // still draining: the hanging request holds it
    const secondMs = Date.now();
    process.kill(-child.pid!, "SIGINT");
    const [code] = await exited;
    hanging.destroy();
    expect(code).toBe(1);
    // At once: long before the drain's share of SHUTDOWN_TIMEOUT_MS would have ended.
    expect(Date.now() - secondMs).toBeLessThan(2000);
    expect(logs.map((l) => l.msg)).toContain("second signal while stopping; the workers exit now");
  });
});
