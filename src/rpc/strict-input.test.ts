import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLoadedCampaign, startTestService, stopTestService, testNamespace, type TestService } from "../testing/harness.js";

// Input connect-go would refuse is refused here too, on both IssueCoupon paths (the fast handler
// and the connect-es router) and on every other method: invalid UTF-8, integers that are not
// proto3 JSON, dates that do not exist, user ids made of whitespace alone.
let fast: TestService;
let connect: TestService;
let campaignId: bigint;
beforeAll(async () => {
  const ns = testNamespace();
  fast = await startTestService({ ISSUE_PATH: "fast" }, undefined, ns);
  connect = await startTestService({ ISSUE_PATH: "connect", PERSISTER: "off" }, undefined, ns);
  ({ campaignId } = await createLoadedCampaign(fast.json, { total: 100 }));
});
afterAll(async () => {
  if (connect) await connect.stop();
  if (fast) await stopTestService(fast);
});

async function call(s: TestService, method: string, body: string | Buffer) {
  const res = await fetch(`${s.url}/couponpb.CouponService/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  return { status: res.status, body: (await res.json()) as { code?: string; message?: string; couponCode?: string } };
}

const paths = () => [
  ["fast handler", fast],
  ["connect-es router", connect],
] as const;

describe("strict JSON input", () => {
  it("refuses invalid UTF-8 in IssueCoupon on both paths instead of making two raw user ids one user", async () => {
    for (const [, s] of paths()) {
      for (const bad of [0xff, 0xfe]) {
        const body = Buffer.concat([Buffer.from(`{"campaignId":"${campaignId}","userId":"u`), Buffer.from([bad]), Buffer.from(`"}`)]);
        expect(await call(s, "IssueCoupon", body)).toEqual({
          status: 400,
          body: { code: "invalid_argument", message: "the request body is not valid UTF-8" },
        });
      }
    }
  });

  it("refuses invalid UTF-8 in a binary IssueCoupon too, on both paths", async () => {
    for (const [name, s] of paths()) {
      const res = await fetch(`${s.url}/couponpb.CouponService/IssueCoupon`, {
        method: "POST",
        headers: { "content-type": "application/proto" },
        // campaign_id = 1, user_id = "u\xff"
        body: new Uint8Array([0x08, 0x01, 0x12, 0x02, 0x75, 0xff]),
      });
      expect(res.status, name).toBe(400);
      expect(((await res.json()) as { code: string }).code, name).toBe("invalid_argument");
    }
  });

  it("refuses invalid UTF-8 on every other method", async () => {
    const bad = Buffer.concat([Buffer.from('{"name":"caf'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    for (const method of ["CreateCampaign", "GetCampaign", "ListCampaigns", "RedeemCoupon", "ListIssuedCoupons"]) {
      expect((await call(fast, method, bad)).body, method).toEqual({
        code: "invalid_argument",
        message: "the request body is not valid UTF-8",
      });
    }
  });

  it("refuses dates that do not exist instead of rolling them over", async () => {
    for (const startTime of ["2027-02-30T00:00:00Z", "2027-03-01T24:00:00Z", "2027-04-31T10:00:00Z", "2027-03-01T10:60:00Z"]) {
      const r = await call(fast, "CreateCampaign", JSON.stringify({ name: "bad date", startTime, totalCoupons: 10 }));
      expect(r, startTime).toEqual({
        status: 400,
        body: {
          code: "invalid_argument",
          message: `invalid value for Timestamp field start_time: "${startTime}" is not a date and time that exist`,
        },
      });
    }
    // A leap day that exists is a date like any other.
    const ok = await call(fast, "CreateCampaign", JSON.stringify({ name: "leap day", startTime: "2028-02-29T00:00:00Z", totalCoupons: 1 }));
    expect(ok.status).toBe(200);
  });

  it("accepts only proto3 JSON integers: 0x1, ' 1' and +1 are refused on both IssueCoupon paths", async () => {
    for (const [name, s] of paths()) {
      for (const id of ["0x1", " 1", "+1", "1 ", "0b1", "01"]) {
        const r = await call(s, "IssueCoupon", JSON.stringify({ campaignId: id, userId: "int64" }));
        expect(r, `${name} ${JSON.stringify(id)}`).toEqual({
          status: 400,
          body: { code: "invalid_argument", message: `invalid value for int64 field campaign_id: ${JSON.stringify(id)}` },
        });
      }
      const fine = await call(s, "IssueCoupon", JSON.stringify({ campaignId: String(campaignId), userId: `int64-${name}` }));
      expect(fine.status).toBe(200);
    }
    const page = await call(fast, "ListIssuedCoupons", JSON.stringify({ campaignId: String(campaignId), pageSize: "+5" }));
    expect(page.body).toEqual({ code: "invalid_argument", message: 'invalid value for int32 field page_size: "+5"' });
  });

  it("refuses a user id of whitespace alone, keeps others as they are, and still serves anonymous callers", async () => {
    for (const [name, s] of paths()) {
      for (const userId of [" ", "   ", "\u00a0", "\u2003\u3000"]) {
        const r = await call(s, "IssueCoupon", JSON.stringify({ campaignId: String(campaignId), userId }));
        expect(r, `${name} ${JSON.stringify(userId)}`).toEqual({
          status: 400,
          body: {
            code: "invalid_argument",
            message: "user_id must not be only whitespace (leave it empty for an anonymous caller)",
          },
        });
      }
    }
    // Opaque: "ws-user" and " ws-user" are two users with two codes, as in connect-go.
    const a = await fast.json.issueCoupon({ campaignId, userId: "ws-user" });
    const b = await fast.json.issueCoupon({ campaignId, userId: " ws-user" });
    expect(a.couponCode).not.toBe(b.couponCode);
    expect((await fast.json.issueCoupon({ campaignId, userId: "" })).couponCode).not.toBe("");
  });
});
