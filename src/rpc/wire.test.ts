import { Code, ConnectError } from "@connectrpc/connect";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isWellFormedCode } from "../codes/code-format.js";
import { startTestService, stopTestService, type TestService } from "../testing/harness.js";

let s: TestService;
beforeAll(async () => {
  s = await startTestService();
});
afterAll(async () => {
  if (s) await stopTestService(s);
});

async function post(method: string, body: unknown) {
  const res = await fetch(`${s.url}/couponpb.CouponService/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function connectError(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    return ConnectError.from(e);
  }
  throw new Error("expected the call to fail");
}

describe("the original client's wire format", () => {
  it("serves the three original methods over binary protobuf through connect-es's client", async () => {
    const { campaignId } = await s.binary.createCampaign({
      name: "binary",
      startTime: timestampFromMs(Date.now() - 1000),
      totalCoupons: 3n,
    });
    expect(campaignId).toBeGreaterThan(0n);
    await s.deps.loader.idle();
    const issued = await s.binary.issueCoupon({ campaignId });
    expect(isWellFormedCode(issued.couponCode)).toBe(true);
    const got = await s.binary.getCampaign({ campaignId });
    expect(got.campaign?.totalCoupons).toBe(3n);
    expect(got.couponCodes).toEqual([issued.couponCode]);
  });

  it("serves a raw JSON POST as curl sends it", async () => {
    const created = await post("CreateCampaign", { name: "curl", startTime: new Date(Date.now() - 1000).toISOString(), totalCoupons: 2 });
    expect(created.status).toBe(200);
    const campaignId = created.body.campaignId as string;
    expect(campaignId).toMatch(/^\d+$/);
    await s.deps.loader.idle();
    const issued = await post("IssueCoupon", { campaignId: Number(campaignId) });
    expect(issued.status).toBe(200);
    expect(Object.keys(issued.body).sort()).toEqual(["couponCode", "sequence"]);
    expect(issued.body.sequence).toBe("1");
    const got = await post("GetCampaign", { campaign_id: campaignId });
    expect(got.status).toBe(200);
    expect(got.body.couponCodes).toEqual([issued.body.couponCode]);
    expect(got.body.campaign).toMatchObject({ id: campaignId, name: "curl", totalCoupons: "2", issued: "1", remaining: "1", state: "CAMPAIGN_STATE_OPEN" });
  });
});

describe("invalid input", () => {
  const start = () => timestampFromMs(Date.now() + 60_000);
  const cases: Array<[string, () => Promise<unknown>, Code, string]> = [
    ["an empty name", () => s.json.createCampaign({ name: "  ", startTime: start(), totalCoupons: 10n }), Code.InvalidArgument, "name must not be empty"],
    ["a huge name", () => s.json.createCampaign({ name: "x".repeat(201), startTime: start(), totalCoupons: 10n }), Code.InvalidArgument, "name must be at most 200 characters"],
    ["a name with control characters", () => s.json.createCampaign({ name: "a\u0000b", startTime: start(), totalCoupons: 10n }), Code.InvalidArgument, "name must not contain control characters or broken Unicode"],
    ["zero coupons", () => s.json.createCampaign({ name: "n", startTime: start(), totalCoupons: 0n }), Code.InvalidArgument, "total_coupons must be between 1 and 10000000, got 0"],
    ["a negative total", () => s.json.createCampaign({ name: "n", startTime: start(), totalCoupons: -5n }), Code.InvalidArgument, "total_coupons must be between 1 and 10000000, got -5"],
    ["an absurd total", () => s.json.createCampaign({ name: "n", startTime: start(), totalCoupons: 9223372036854775807n }), Code.InvalidArgument, "total_coupons must be between 1 and 10000000, got 9223372036854775807"],
    ["a missing start time", () => s.json.createCampaign({ name: "n", totalCoupons: 10n }), Code.InvalidArgument, "start_time is required"],
    ["a start time years away", () => s.json.createCampaign({ name: "n", startTime: timestampFromMs(Date.now() + 10 * 366 * 86400_000), totalCoupons: 1n }), Code.InvalidArgument, "start_time must not be more than five years in the future"],
    ["an unknown campaign (Get)", () => s.json.getCampaign({ campaignId: 987654321n }), Code.NotFound, "campaign 987654321 does not exist"],
    ["an unknown campaign (Issue)", () => s.binary.issueCoupon({ campaignId: 987654321n }), Code.NotFound, "campaign 987654321 does not exist"],
    ["a zero campaign id", () => s.json.issueCoupon({ campaignId: 0n }), Code.InvalidArgument, "campaign_id must be a positive integer, got 0"],
    ["a negative campaign id", () => s.json.getCampaign({ campaignId: -3n }), Code.InvalidArgument, "campaign_id must be a positive integer, got -3"],
    ["a huge user id", () => s.json.issueCoupon({ campaignId: 1n, userId: "u".repeat(129) }), Code.InvalidArgument, "user_id must be at most 128 characters"],
    ["a page size over the limit", () => s.json.listIssuedCoupons({ campaignId: 1n, pageSize: 5000 }), Code.InvalidArgument, "page_size must be between 0 and 1000, got 5000"],
    ["a forged page token", () => s.json.listIssuedCoupons({ campaignId: 1n, pageToken: "drop table" }), Code.InvalidArgument, "page_token is not a token this service returned"],
  ];
  for (const [what, call, code, message] of cases) {
    it(`answers ${what} with ${Code[code]} and a message naming the problem`, async () => {
      const err = await connectError(call());
      expect({ code: err.code, message: err.rawMessage }).toEqual({ code, message });
    });
  }

  it("answers malformed JSON with invalid_argument and stays up", async () => {
    const bad = await post("CreateCampaign", "{not json");
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe("invalid_argument");
    const typed = await post("CreateCampaign", { name: 5, totalCoupons: "lots" });
    expect(typed.status).toBe(400);
    expect(typed.body.code).toBe("invalid_argument");
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  });
});
