import { Writable } from "node:stream";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CouponService } from "../../gen/couponpb/coupon_pb.js";
import { startService, type RunningService } from "../../service.js";
import {
  couponClient,
  createLoadedCampaign,
  dropNamespace,
  startTestService,
  stopTestService,
  testConfig,
  testNamespace,
  type TestService,
} from "../../testing/harness.js";

const KEY = "test-admin-key-0123456789";

function clientWithKey(url: string, authorization: string | undefined): Client<typeof CouponService> {
  const auth: Interceptor = (next) => (req) => {
    if (authorization !== undefined) req.header.set("authorization", authorization);
    return next(req);
  };
  return createClient(CouponService, createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors: [auth] }));
}

async function codeOf(call: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await call;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

const startIn = () => timestampFromMs(Date.now() + 60_000);

describe("with ADMIN_API_KEY set", () => {
  let s: TestService;
  let connectPath: TestService;
  beforeAll(async () => {
    [s, connectPath] = await Promise.all([
      startTestService({ ADMIN_API_KEY: KEY }),
      startTestService({ ADMIN_API_KEY: KEY, ISSUE_PATH: "connect" }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([s && stopTestService(s), connectPath && stopTestService(connectPath)]);
  });

  it("refuses every admin method without the key, with a wrong key or another scheme: unauthenticated", async () => {
    for (const authorization of [undefined, "Bearer wrong-key-0123456789", `Basic ${KEY}`, KEY]) {
      const c = clientWithKey(s.url, authorization);
      expect(await codeOf(c.createCampaign({ name: "x", startTime: startIn(), totalCoupons: 1n })), authorization).toBe(
        Code.Unauthenticated,
      );
      expect(await codeOf(c.listCampaigns({}))).toBe(Code.Unauthenticated);
      expect(await codeOf(c.listIssuedCoupons({ campaignId: 1n }))).toBe(Code.Unauthenticated);
    }
    // The wire answer, as curl sees it.
    const res = await fetch(`${s.url}/couponpb.CouponService/ListCampaigns`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      code: "unauthenticated",
      message: 'ListCampaigns needs the admin key: send "Authorization: Bearer <key>" with the service\'s ADMIN_API_KEY',
    });
  });

  it("serves admin methods with the key, while IssueCoupon and GetCampaign (without its codes) stay open to anyone", async () => {
    const admin = clientWithKey(s.url, `Bearer ${KEY}`);
    const { campaignId } = await createLoadedCampaign(admin, { total: 3 });
    const anyone = couponClient(s.url, "json");
    const issued = await anyone.issueCoupon({ campaignId, userId: "u1" });
    // Issued codes are the admin's to read (src/campaigns/get-campaign.ts): anyone gets the counts.
    expect(await anyone.getCampaign({ campaignId })).toMatchObject({ couponCodes: [], codesOmitted: true, campaign: { issued: 1n } });
    expect((await admin.getCampaign({ campaignId })).couponCodes).toEqual([issued.couponCode]);
    const list = await admin.listCampaigns({ campaignIds: [campaignId] });
    expect(list.campaigns.map((c) => c.id)).toEqual([campaignId]);
    const page = await admin.listIssuedCoupons({ campaignId });
    expect(page.coupons.map((c) => c.code)).toEqual([issued.couponCode]);
  });

  it("leaves IssueCoupon open on the connect-es path too (ISSUE_PATH=connect)", async () => {
    const admin = clientWithKey(connectPath.url, `Bearer ${KEY}`);
    const { campaignId } = await createLoadedCampaign(admin, { total: 2 });
    const anyone = couponClient(connectPath.url, "binary");
    expect((await anyone.issueCoupon({ campaignId, userId: "u1" })).sequence).toBe(1n);
    expect(await codeOf(anyone.createCampaign({ name: "x", startTime: startIn(), totalCoupons: 1n }))).toBe(
      Code.Unauthenticated,
    );
  });
});

describe("without ADMIN_API_KEY", () => {
  let s: RunningService;
  let url: string;
  const logLines: Array<{ level: number; msg: string }> = [];
  const ns = testNamespace();
  beforeAll(async () => {
    const config = testConfig({}, ns);
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString("utf8").split("\n")) if (line) logLines.push(JSON.parse(line));
        done();
      },
    });
    s = await startService(config, pino({ level: "info" }, sink), { maxIdleMs: 20 });
    url = s.url!;
  });
  afterAll(async () => {
    if (s) {
      await s.stop();
      await dropNamespace(s.deps.config);
    }
  });

  it("warns at start-up that the admin methods are open", () => {
    const warnings = logLines.filter((l) => l.level === 40).map((l) => l.msg);
    expect(warnings).toContainEqual(expect.stringMatching(/^ADMIN_API_KEY is not set: CreateCampaign, ListCampaigns/));
  });

  it("serves admin methods to callers without a key, as the original service did", async () => {
    const c = couponClient(url, "json");
    const { campaignId } = await createLoadedCampaign(c, { total: 2 });
    expect((await c.listCampaigns({ campaignIds: [campaignId] })).campaigns).toHaveLength(1);
    expect((await c.listIssuedCoupons({ campaignId })).coupons).toEqual([]);
    // A stray Authorization header changes nothing either.
    const odd = clientWithKey(url, "Bearer whatever");
    expect(await codeOf(odd.listCampaigns({}))).toBe("ok");
  });
});
