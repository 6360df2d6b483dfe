import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { createLoadedCampaign, startTestService, stopTestService, type TestService } from "../testing/harness.js";

let s: TestService | undefined;
afterEach(async () => {
  if (s) await stopTestService(s);
  s = undefined;
});

async function outcome(p: Promise<{ couponCode: string }>) {
  try {
    return (await p).couponCode;
  } catch (e) {
    return ConnectError.from(e);
  }
}

describe("optional issue rate limits", () => {
  it("refuses a user over the per-user limit without touching the pool", async () => {
    s = await startTestService({ ISSUE_RATE_LIMIT_PER_USER: "3", ISSUE_RATE_LIMIT_WINDOW_MS: "60000" });
    const svc = s;
    const { campaignId } = await createLoadedCampaign(svc.json, { total: 100 });
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await outcome(svc.json.issueCoupon({ campaignId, userId: "greedy" })));
    const codes = answers.filter((a): a is string => typeof a === "string");
    expect(codes).toHaveLength(3);
    expect(new Set(codes).size).toBe(1); // the same code each time: one pool code at most
    for (const a of answers.slice(3)) {
      expect(a).toBeInstanceOf(ConnectError);
      expect((a as ConnectError).code).toBe(Code.ResourceExhausted);
      expect((a as ConnectError).rawMessage).toMatch(new RegExp(`^too many requests for campaign ${campaignId} from this user; retry in \\d+ ms$`));
    }
    // Other users are not affected, and the pool lost exactly one code per user served.
    expect(typeof (await outcome(svc.json.issueCoupon({ campaignId, userId: "polite" })))).toBe("string");
    expect((await svc.json.getCampaign({ campaignId })).campaign).toMatchObject({ issued: 2n, remaining: 98n });
  });

  it("refuses a client address over the per-address limit, whatever user ids it sends", async () => {
    s = await startTestService({ ISSUE_RATE_LIMIT_PER_IP: "5", ISSUE_RATE_LIMIT_WINDOW_MS: "60000" });
    const svc = s;
    const { campaignId } = await createLoadedCampaign(svc.json, { total: 100 });
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push(await outcome(svc.binary.issueCoupon({ campaignId, userId: `sock-puppet-${i}` })));
    expect(answers.filter((a) => typeof a === "string")).toHaveLength(5);
    const refused = answers.filter((a): a is ConnectError => a instanceof ConnectError);
    expect(refused.map((e) => e.code)).toEqual([Code.ResourceExhausted, Code.ResourceExhausted, Code.ResourceExhausted]);
    expect(refused[0]!.rawMessage).toMatch(/from this address; retry in \d+ ms$/);
    expect((await svc.json.getCampaign({ campaignId })).campaign).toMatchObject({ issued: 5n });
  });

  it("is off by default", async () => {
    s = await startTestService();
    const svc = s;
    const { campaignId } = await createLoadedCampaign(svc.json, { total: 100 });
    const answers = await Promise.all(Array.from({ length: 50 }, () => outcome(svc.json.issueCoupon({ campaignId, userId: "same" }))));
    expect(answers.every((a) => typeof a === "string")).toBe(true);
  });
});
