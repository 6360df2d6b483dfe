import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestService, stopTestService, type TestService } from "../../../src/testing/harness.js";
import { createCampaigns, waitUntilLoaded, type CampaignRun } from "../campaigns.js";
import { runClosedLoop } from "../drivers/closed-loop.js";
import { IssuePool } from "../http/issue-pool.js";
import { ControlClient } from "../rpc/control-client.js";
import { CallLog } from "../stats/call-log.js";
import { apiPersistProbe } from "./persist-drain.js";
import { verifyRun } from "./verify.js";

// The verdict must catch a lie. A real service issues real coupons; then the generator's own
// record is altered, as if an answer had been lost or mixed up on the way, and the verifier must
// say so in words.
let s: TestService;
let client: ControlClient;
beforeAll(async () => {
  s = await startTestService();
  client = new ControlClient(s.url);
});
afterAll(async () => {
  await client.close();
  await stopTestService(s);
});

async function issueAll(coupons: number, calls: number): Promise<{ run: CampaignRun; log: CallLog }> {
  const [run] = await createCampaigns(client, [{ name: "verify test", coupons }], Date.now());
  await waitUntilLoaded(client, [run!], 30_000);
  const pool = new IssuePool(s.url, { connections: 4, timeoutMs: 30_000 });
  const log = new CallLog();
  await runClosedLoop(pool, log, { calls, concurrency: 4, target: (i) => ({ campaign: 0, campaignId: run!.id, userId: `verify-${i}` }) });
  pool.close();
  return { run: run!, log };
}

const verify = (run: CampaignRun, log: CallLog) => verifyRun(client, [run], log, apiPersistProbe(client), 30_000, () => undefined);

describe("the integrity verdict", () => {
  it("holds for an honest run", async () => {
    const { run, log } = await issueAll(20, 30);
    const verdict = await verify(run, log);
    expect(verdict.violations).toEqual([]);
    expect(verdict.persistLagMs).toEqual(expect.any(Number));
  });

  it("reports a code the service issued that no caller received", async () => {
    const { run, log } = await issueAll(20, 20);
    const lost = log.records.pop()!;
    log.successes--;
    log.calls--;
    const code = lost.outcome.ok ? lost.outcome.code : "";
    const { violations } = await verify(run, log);
    expect(violations).toEqual(
      expect.arrayContaining([
        `campaign ${run.id}: GetCampaign lists 1 codes no caller received: ${code}`,
        `campaign ${run.id}: GetCampaign says 20 issued; callers received 19`,
        `campaign ${run.id}: ListIssuedCoupons lists 1 codes no caller received: ${code}`,
      ]),
    );
  });

  it("reports owners read back that differ from the callers who received the codes", async () => {
    const { run, log } = await issueAll(10, 10);
    const [a, b] = [log.records[0]!, log.records[1]!];
    [a.userId, b.userId] = [b.userId, a.userId];
    const { violations } = await verify(run, log);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatch(new RegExp(`^campaign ${run.id}: 2 owners read back differ from the callers: `));
  });
});
