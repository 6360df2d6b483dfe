import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startService, type RunningService } from "../../service.js";
import { couponClient, createLoadedCampaign, dropNamespace, testConfig, testNamespace } from "../../testing/harness.js";

type Line = { level: number; msg: string; reqId?: string; method?: string; campaignId?: string; code?: string };

// A service on the connect-es path for IssueCoupon too, logging at info into memory.
let s: RunningService;
const lines: Line[] = [];
const ns = testNamespace();
beforeAll(async () => {
  const config = testConfig({ ISSUE_PATH: "connect" }, ns);
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString("utf8").split("\n")) if (l) lines.push(JSON.parse(l) as Line);
      done();
    },
  });
  s = await startService(config, pino({ level: "info" }, sink), { maxIdleMs: 20 });
});
afterAll(async () => {
  if (s) {
    await s.stop();
    await dropNamespace(s.deps.config);
  }
});

describe("request ids and logs on the connect-es path", () => {
  it("echoes the caller's request id and logs one info line per admin call with it, none per issue", async () => {
    const url = s.url!;
    const { campaignId } = await createLoadedCampaign(couponClient(url, "json"), { total: 20 });
    const res = await fetch(`${url}/couponpb.CouponService/ListIssuedCoupons`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "trace-42" },
      body: JSON.stringify({ campaignId: String(campaignId) }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe("trace-42");
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 30, msg: "rpc", reqId: "trace-42", method: "ListIssuedCoupons", campaignId: String(campaignId), code: "ok" }),
    );

    // A request id that does not look like one is replaced; errors carry the id too.
    const odd = await fetch(`${url}/couponpb.CouponService/IssueCoupon`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "bad id\twith spaces" },
      body: JSON.stringify({ campaignId: "999999" }),
    });
    expect(odd.status).toBe(404);
    expect(odd.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);

    const before = lines.length;
    const client = couponClient(url, "binary");
    for (let i = 0; i < 10; i++) await client.issueCoupon({ campaignId, userId: `quiet-${i}` });
    await client.getCampaign({ campaignId });
    expect(lines.slice(before)).toEqual([]);
  });
});
