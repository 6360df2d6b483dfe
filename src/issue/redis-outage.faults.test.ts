import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLoadedCampaign, startTestService, stopTestService, waitFor, waitForPersisted, type TestService } from "../testing/harness.js";
import { recordFault } from "../testing/fault-report.js";
import { TcpProxy } from "../testing/tcp-proxy.js";

/** Fault 4: Redis unreachable. The service talks to Redis through a proxy the test can cut. */
const COMMAND_TIMEOUT_MS = 500;
/** The bound no IssueCoupon may exceed while Redis is down: the command timeout plus slack. */
const ANSWER_BOUND_MS = COMMAND_TIMEOUT_MS + 1500;

let proxy: TcpProxy;
let s: TestService;
beforeAll(async () => {
  proxy = await new TcpProxy("127.0.0.1", 6379).start();
  s = await startTestService({ REDIS_URL: `redis://127.0.0.1:${proxy.port}`, REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS) });
});
afterAll(async () => {
  await proxy?.set("pass");
  if (s) await stopTestService(s);
  await proxy?.stop();
});

async function timedIssue(campaignId: bigint, userId: string) {
  const started = performance.now();
  try {
    const r = await s.json.issueCoupon({ campaignId, userId });
    return { ok: true as const, code: r.couponCode, ms: performance.now() - started };
  } catch (e) {
    return { ok: false as const, err: ConnectError.from(e), ms: performance.now() - started };
  }
}

describe("Redis unreachable", () => {
  it("answers unavailable within a bounded time, never sold out, and recovers by itself", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 500 });
    const received = new Map<string, string>();
    let calls = 0;
    let slowest = 0;
    const recoveries: number[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await timedIssue(campaignId, `before-${i}`);
      expect(r.ok).toBe(true);
      if (r.ok) received.set(`before-${i}`, r.code);
    }

    for (const mode of ["refuse", "blackhole"] as const) {
      await proxy.set(mode);
      calls += 40;
      const during = await Promise.all(Array.from({ length: 40 }, (_, i) => timedIssue(campaignId, `${mode}-${i}`)));
      for (const r of during) {
        expect(r.ok, mode).toBe(false);
        if (!r.ok) {
          expect(r.err.code, `${mode}: ${r.err.rawMessage}`).toBe(Code.Unavailable);
          expect(r.err.rawMessage).toBe("the coupon pool (Redis) is unavailable; try again shortly");
        }
        expect(r.ms, mode).toBeLessThan(ANSWER_BOUND_MS);
        slowest = Math.max(slowest, r.ms);
      }
      const read = await s.json.getCampaign({ campaignId }).catch((e: unknown) => ConnectError.from(e));
      expect((read as ConnectError).code).toBe(Code.Unavailable);
      await proxy.set("pass");
      const restoredAt = performance.now();
      // Recovery needs no restart: the client reconnects on its own.
      await waitFor(`IssueCoupon to work again after ${mode}`, async () => {
        calls++;
        const r = await timedIssue(campaignId, `after-${mode}`);
        if (r.ok) recoveries.push(performance.now() - restoredAt);
        if (r.ok) received.set(`after-${mode}`, r.code);
        return r.ok ? true : undefined;
      });
    }

    // Nothing issued twice and nothing lost: every code a caller got is persisted with its owner.
    expect(new Set(received.values()).size).toBe(received.size);
    await waitForPersisted(s.json, campaignId);
    const listed = await s.json.listIssuedCoupons({ campaignId, pageSize: 1000 });
    const owners = new Map(listed.coupons.map((c) => [c.userId, c.code]));
    for (const [user, code] of received) expect(owners.get(user)).toBe(code);
    // A call that timed out may still have been issued in Redis: it is then recorded, never lost.
    expect(listed.coupons.length).toBeGreaterThanOrEqual(received.size);
    const duplicates = listed.coupons.length - new Set(listed.coupons.map((c) => c.code)).size;
    expect(duplicates).toBe(0);
    recordFault({
      fault: "Redis unreachable (connections refused, then hung), `src/issue/redis-outage.faults.test.ts`",
      behaviour: `IssueCoupon and GetCampaign answer \`unavailable\` within ${COMMAND_TIMEOUT_MS} ms + slack (slowest: ${Math.round(slowest)} ms), never sold out; reconnects by itself`,
      calls: calls + 20,
      issued: listed.coupons.length,
      duplicates,
      lostOwners: [...received].filter(([user, code]) => owners.get(user) !== code).length,
      recoveryMs: Math.max(...recoveries),
    });
  });
});
