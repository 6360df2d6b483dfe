import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";
import { createLoadedCampaign, startTestService, stopTestService, waitForPersisted, type TestService } from "../../src/testing/harness.js";

// `npm run campaign -- rebuild ID`, run as a child process against a real service.
let s: TestService;
beforeAll(async () => {
  s = await startTestService({ ISSUE_BUDGET_INITIAL: "10", ISSUE_BUDGET_MIN_HEADROOM: "5", ISSUE_BUDGET_HEADROOM_S: "0" });
});
afterAll(async () => {
  if (s) await stopTestService(s);
});

function cli(args: string[]) {
  return runCli(s.url, args);
}

describe("npm run campaign -- rebuild", () => {
  it("reloads a campaign Redis lost, and refuses with a sentence when there is nothing to rebuild", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 30 });
    for (const u of ["a", "b", "c"]) await s.json.issueCoupon({ campaignId, userId: u });
    await waitForPersisted(s.json, campaignId);
    const k = s.deps.keys.campaign(campaignId);
    await s.deps.bulkRedis.del(k.meta, k.pool, k.users, k.stream);

    const r = await cli(["rebuild", String(campaignId)]);
    expect(r).toEqual({
      code: 0,
      stdout: `rebuilt campaign ${campaignId}: 20 codes back in the pool, 7 quarantined (issued before the loss without an owner in MySQL), 3 owners restored; issuing resumes after position 10\n`,
      stderr: "",
    });
    const again = await cli(["rebuild", String(campaignId)]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      `The service refused: campaign ${campaignId} still has its pool in Redis; there is nothing to rebuild (failed_precondition).\n`,
    );
  });
});
