import { Code, ConnectError } from "@connectrpc/connect";
import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Persister } from "../persist/persister.js";
import { recordFault } from "../testing/fault-report.js";
import { createLoadedCampaign, startTestService, stopTestService, waitFor, type TestService } from "../testing/harness.js";

/**
 * Fault 6: Redis loses a campaign entirely (its keys flushed) while some owners are not yet in
 * MySQL. A small issue budget makes the arithmetic visible: no code past the budget was issued.
 */
const TOTAL = 1000;
let s: TestService;
beforeAll(async () => {
  s = await startTestService({
    PERSISTER: "off",
    ISSUE_BUDGET_INITIAL: "200",
    ISSUE_BUDGET_MIN_HEADROOM: "100",
    ISSUE_BUDGET_HEADROOM_S: "0",
    ISSUE_BUDGET_INTERVAL_MS: "50",
  });
});
afterAll(async () => {
  if (s) await stopTestService(s);
});

const persister = (batchSize = 500) =>
  new Persister({ db: s.deps.db, redis: s.deps.bulkRedis, keys: s.deps.keys, logger: s.deps.logger }, { batchSize });

async function flushCampaign(campaignId: bigint, keep: Array<"stream"> = []) {
  const k = s.deps.keys.campaign(campaignId);
  const doomed = [k.meta, k.pool, k.users, k.stream].filter((key) => !(keep.includes("stream") && key === k.stream));
  await s.deps.bulkRedis.del(...doomed);
}

async function issueAll(campaignId: bigint, users: string[]) {
  const got = new Map<string, string>();
  for (const u of users) {
    const r = await waitFor(`a code for ${u}`, async () => {
      try {
        return await s.json.issueCoupon({ campaignId, userId: u });
      } catch (e) {
        const err = ConnectError.from(e);
        if (err.code === Code.Unavailable) return undefined; // the budget is being raised
        throw err;
      }
    });
    got.set(u, r.couponCode);
  }
  return got;
}

async function allowanceOf(campaignId: bigint): Promise<number> {
  const [rows] = await s.deps.mysqlPool.query<RowDataPacket[]>("SELECT issue_allowance AS a FROM campaigns WHERE id = ?", [Number(campaignId)]);
  return Number(rows[0]!.a);
}

describe("Redis loses a campaign entirely", () => {
  it("rebuilds from MySQL without ever issuing again a code issued before the loss", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: TOTAL });
    // 120 issues leave 80 of the initial budget of 200: more than half the headroom (100), so the
    // budget stays at 200 and the arithmetic below is exact.
    const before = await issueAll(campaignId, Array.from({ length: 120 }, (_, i) => `before-${i}`));
    // Only the first 100 owners reach MySQL before the loss.
    expect(await persister(100).runOnce()).toBe(100);
    const allowance = await allowanceOf(campaignId);
    expect(allowance).toBe(200);

    await flushCampaign(campaignId);
    const missing = ConnectError.from(await s.json.issueCoupon({ campaignId, userId: "during" }).catch((e: unknown) => e));
    expect(missing.code).toBe(Code.Unavailable);
    expect(missing.rawMessage).toBe(
      `campaign ${campaignId} has no coupon pool in Redis; an operator must rebuild it (npm run campaign -- rebuild ${campaignId})`,
    );

    const startedAt = performance.now();
    const rebuilt = await s.json.rebuildCampaign({ campaignId });
    expect(rebuilt).toMatchObject({
      allowance: BigInt(allowance),
      quarantined: BigInt(allowance - 100),
      reloaded: BigInt(TOTAL - allowance),
      owners: 100n,
    });
    const again = ConnectError.from(await s.json.rebuildCampaign({ campaignId }).catch((e: unknown) => e));
    expect(again.code).toBe(Code.FailedPrecondition);
    expect(again.rawMessage).toBe(`campaign ${campaignId} still has its pool in Redis; there is nothing to rebuild`);

    const view = (await s.json.getCampaign({ campaignId })).campaign!;
    expect(view).toMatchObject({
      issued: BigInt(allowance),
      quarantined: BigInt(allowance - 100),
      persisted: 100n,
      remaining: BigInt(TOTAL - allowance),
    });
    const books = await s.json.verifyCampaign({ campaignId });
    expect(books.problems).toEqual([]);
    expect(books.ok).toBe(true);

    // A user whose owner record survived gets the same code back.
    expect((await s.json.issueCoupon({ campaignId, userId: "before-7" })).couponCode).toBe(before.get("before-7"));
    const after = await issueAll(campaignId, Array.from({ length: TOTAL - allowance }, (_, i) => `after-${i}`));
    const recoveryMs = performance.now() - startedAt;
    const sold = ConnectError.from(await s.json.issueCoupon({ campaignId, userId: "late" }).catch((e: unknown) => e));
    expect(sold.code).toBe(Code.ResourceExhausted);

    const beforeCodes = new Set(before.values());
    const reissued = [...after.values()].filter((c) => beforeCodes.has(c)).length;
    expect(reissued).toBe(0);
    expect(new Set(after.values()).size).toBe(TOTAL - allowance);

    // Sequences stay aligned with pool positions: the new owners land at allowance+1 … TOTAL.
    await waitFor("the new owners to be persisted", async () => ((await persister().runOnce()) === 0 ? true : undefined));
    const [rows] = await s.deps.mysqlPool.query<RowDataPacket[]>(
      "SELECT MIN(sequence) AS lo, MAX(sequence) AS hi, COUNT(*) AS n FROM coupon_issues WHERE campaign_id = ? AND sequence > 100",
      [Number(campaignId)],
    );
    expect(rows[0]).toMatchObject({ lo: allowance + 1, hi: TOTAL, n: TOTAL - allowance });
    const [q] = await s.deps.mysqlPool.query<RowDataPacket[]>(
      "SELECT COUNT(*) AS n FROM coupons c JOIN coupon_issues i ON i.code = c.code WHERE c.campaign_id = ? AND c.quarantined_at IS NOT NULL",
      [Number(campaignId)],
    );
    expect(q[0]!.n).toBe(0); // no quarantined code was ever issued afterwards

    recordFault({
      fault: "Redis loses a campaign entirely (keys flushed) with owners not yet persisted, `src/campaigns/rebuild.faults.test.ts`",
      behaviour: `IssueCoupon answers \`unavailable\` until \`rebuild\`; codes within the issue budget (${allowance}) without an owner are quarantined (${allowance - 100}); the other ${TOTAL - allowance} are issued, none a second time`,
      calls: before.size + after.size + 3,
      issued: before.size + after.size,
      duplicates: reissued,
      lostOwners: before.size - 100, // owners that were only on the lost stream: their codes are quarantined
      recoveryMs,
    });
  });

  it("refuses to rebuild while the stream still holds issues that MySQL does not have", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 50 });
    await issueAll(campaignId, ["x", "y", "z"]);
    await flushCampaign(campaignId, ["stream"]);
    const refused = ConnectError.from(await s.json.rebuildCampaign({ campaignId }).catch((e: unknown) => e));
    expect(refused.code).toBe(Code.FailedPrecondition);
    expect(refused.rawMessage).toBe(
      `campaign ${campaignId} still has 3 issues on its Redis stream that are not in MySQL yet; wait for the persister to write them, then rebuild`,
    );
    // The persister can still drain a stream whose meta is gone; after that the rebuild goes through.
    await persister().runOnce();
    expect(await s.deps.bulkRedis.xlen(s.deps.keys.campaign(campaignId).stream)).toBe(0);
    const rebuilt = await s.json.rebuildCampaign({ campaignId });
    expect(rebuilt).toMatchObject({ owners: 3n, quarantined: BigInt(Number(rebuilt.allowance) - 3) });
  });
});
