import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";
import { CampaignState } from "../../src/gen/couponpb/coupon_pb.js";
import { couponClient, startTestService, stopTestService, waitForPersisted, type TestService } from "../../src/testing/harness.js";

// The lifecycle commands of the admin CLI, run as a child process against a real service.
let s: TestService;
beforeAll(async () => {
  s = await startTestService({ SWEEP_INTERVAL_MS: "100" });
});
afterAll(async () => {
  if (s) await stopTestService(s);
});


function cli(args: string[]) {
  return runCli(s.url, args);
}

async function loaded(total: number): Promise<bigint> {
  const { campaignId } = await s.json.createCampaign({
    name: "cli lifecycle",
    startTime: { seconds: BigInt(Math.floor(Date.now() / 1000)), nanos: 0 },
    totalCoupons: BigInt(total),
  });
  await s.deps.loader.idle();
  return campaignId;
}

describe("npm run campaign: lifecycle commands", () => {
  it("pause and resume: say what they did, and repeating them is harmless", async () => {
    const id = await loaded(20);
    await s.json.issueCoupon({ campaignId: id, userId: "a" });
    expect(await cli(["pause", String(id)])).toEqual({ code: 0, stdout: `paused campaign ${id}; 1 of 20 issued\n`, stderr: "" });
    expect((await cli(["pause", String(id)])).stdout).toBe(`campaign ${id} was already paused (paused); 1 of 20 issued\n`);
    expect((await s.json.getCampaign({ campaignId: id })).campaign!.state).toBe(CampaignState.PAUSED);
    expect(await cli(["resume", String(id)])).toEqual({ code: 0, stdout: `resumed campaign ${id}: open; 1 of 20 issued\n`, stderr: "" });
    expect((await cli(["resume", String(id)])).stdout).toBe(`campaign ${id} was not paused: open; 1 of 20 issued\n`);
  });

  it("redeem: marks a code used once, and passes the service's refusals on as sentences", async () => {
    const id = await loaded(5);
    const { couponCode } = await couponClient(s.url, "json").issueCoupon({ campaignId: id, userId: "bo" });
    const r = await cli(["redeem", couponCode, "--user", "bo"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^redeemed ${couponCode} \\(campaign ${id}, #1\\) at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\n$`));
    const again = await cli(["redeem", couponCode, "--user", "bo"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`^The service refused: coupon ${couponCode} was already redeemed at .+Z \\(already_exists\\)\\.\\n$`));
    const typo = await cli(["redeem", "가가00가가나"]);
    expect(typo).toEqual({
      code: 1,
      stdout: "",
      stderr: "The service refused: code is not a valid coupon code: check it for a typo (invalid_argument).\n",
    });
  });

  it("cancel: stops the campaign for good and reports the voided codes", async () => {
    const id = await loaded(30);
    for (let i = 0; i < 4; i++) await s.json.issueCoupon({ campaignId: id, userId: `c${i}` });
    await waitForPersisted(s.json, id);
    const r = await cli(["cancel", String(id)]);
    expect(r).toEqual({ code: 0, stdout: `cancelled campaign ${id}; 4 issued (final), 26 unissued codes voided\n`, stderr: "" });
    expect((await cli(["cancel", String(id)])).stdout).toBe(`already cancelled: campaign ${id}; 4 issued (final), 26 unissued codes voided\n`);
    const resume = await cli(["resume", String(id)]);
    expect(resume).toEqual({ code: 1, stdout: "", stderr: `The service refused: campaign ${id} was cancelled (failed_precondition).\n` });
  });

  it("verify: prints the books and exits 0 when they balance, 3 when a code was taken from the pool by hand", async () => {
    const id = await loaded(50);
    for (let i = 0; i < 10; i++) await s.json.issueCoupon({ campaignId: id, userId: `v${i}` });
    await waitForPersisted(s.json, id);
    const clean = await cli(["verify", String(id)]);
    expect(clean.stderr).toBe("");
    expect(clean.code).toBe(0);
    expect(clean.stdout).toBe(
      [
        `campaign                    ${id}`,
        "generated                   50",
        "pooled                      40",
        "issued                      10",
        "persisted                   10",
        "pending                     0",
        "redeemed                    0",
        "voided                      0",
        "pooled + issued = generated yes",
        "one owner per code          yes",
        "the books balance",
        "",
      ].join("\n"),
    );

    await s.deps.bulkRedis.rpop(s.deps.keys.campaign(id).pool);
    const broken = await cli(["verify", String(id)]);
    expect(broken.code).toBe(3);
    expect(broken.stdout).toContain("pooled + issued = generated NO\n");
    expect(broken.stdout).toContain(
      "problem: pooled (39) + issued (10) = 49, but 50 codes were generated: 1 code(s) are neither in the pool nor issued\n",
    );
    expect(broken.stdout.endsWith("the books do NOT balance\n")).toBe(true);
  });

  it("refuses a campaign id that is not one before calling the service", async () => {
    const r = await cli(["pause", "abc"]);
    expect(r).toEqual({ code: 1, stdout: "", stderr: '"abc" is not a campaign id; ids are positive whole numbers.\n' });
  });
});
