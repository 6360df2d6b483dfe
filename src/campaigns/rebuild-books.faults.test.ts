import { Code, ConnectError } from "@connectrpc/connect";
import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Persister, type PersisterOptions } from "../persist/persister.js";
import { parseIssueEvent, type RawStreamEntry } from "../persist/stream-entry.js";
import { writeIssues } from "../persist/write-issues.js";
import { recordFault } from "../testing/fault-report.js";
import { createLoadedCampaign, startTestService, stopTestService, waitFor, type TestService } from "../testing/harness.js";

/**
 * Issue 14, point 5: the books of a rebuilt campaign balance. A cancellation does not void its
 * quarantined codes a second time, and a rebuild that lands while owners are on their way to
 * MySQL never quarantines a code that then gets its owner. Same small issue budget as
 * rebuild.faults.test.ts: 120 issues leave the budget at 200, so the arithmetic is exact.
 */
const TOTAL = 1000;
const ALLOWANCE = 200;
let s: TestService;
beforeAll(async () => {
  s = await startTestService({
    PERSISTER: "off",
    ISSUE_BUDGET_INITIAL: String(ALLOWANCE),
    ISSUE_BUDGET_MIN_HEADROOM: "100",
    ISSUE_BUDGET_HEADROOM_S: "0",
    ISSUE_BUDGET_INTERVAL_MS: "50",
  });
});
afterAll(async () => {
  if (s) await stopTestService(s);
});

const persister = (options: Partial<PersisterOptions>) =>
  new Persister({ db: s.deps.db, redis: s.deps.bulkRedis, keys: s.deps.keys, logger: s.deps.logger }, options);

async function issueAll(campaignId: bigint, n: number, prefix: string): Promise<void> {
  for (let i = 0; i < n; i++) {
    await waitFor(`a code for ${prefix}${i}`, async () => {
      try {
        return await s.json.issueCoupon({ campaignId, userId: `${prefix}${i}` });
      } catch (e) {
        if (ConnectError.from(e).code === Code.Unavailable) return undefined; // the budget is being raised
        throw e;
      }
    });
  }
}

async function flushCampaign(campaignId: bigint): Promise<void> {
  const k = s.deps.keys.campaign(campaignId);
  await s.deps.bulkRedis.del(k.meta, k.pool, k.users, k.stream);
}

/** Owners, quarantined codes, and codes that are both (must be none), as MySQL holds them. */
async function mysqlBooks(campaignId: bigint) {
  const [rows] = await s.deps.mysqlPool.query<RowDataPacket[]>(
    `SELECT (SELECT COUNT(*) FROM coupon_issues WHERE campaign_id = ?) AS owners,
            (SELECT COUNT(*) FROM coupons WHERE campaign_id = ? AND quarantined_at IS NOT NULL) AS quarantinedCodes,
            (SELECT quarantined FROM campaigns WHERE id = ?) AS quarantinedCount,
            (SELECT COUNT(*) FROM coupons c JOIN coupon_issues i ON i.code = c.code
              WHERE c.campaign_id = ? AND c.quarantined_at IS NOT NULL) AS ownedAndQuarantined,
            (SELECT COUNT(*) FROM coupons WHERE campaign_id = ? AND voided_at IS NOT NULL AND quarantined_at IS NOT NULL) AS voidedAndQuarantined`,
    Array(5).fill(Number(campaignId)),
  );
  return Object.fromEntries(Object.entries(rows[0]!).map(([k, v]) => [k, Number(v)]));
}

/**
 * The rebuild's statement on the campaign row is running in this test's database: its first
 * writes (its fence, then the quarantine's FOR UPDATE) cannot finish while the batch in flight
 * holds its shared lock on that row, so running means waiting for it.
 */
async function rebuildWaitingForLock(): Promise<true | undefined> {
  const [rows] = await s.deps.mysqlPool.query<RowDataPacket[]>(
    `SELECT COUNT(*) AS n FROM information_schema.processlist
      WHERE db = DATABASE() AND command = 'Query' AND (info LIKE '%FOR UPDATE%' OR info LIKE '%SET load_fence%')`,
  );
  return Number(rows[0]!.n) > 0 ? true : undefined;
}

async function keysLeft(campaignId: bigint): Promise<number> {
  const k = s.deps.keys.campaign(campaignId);
  return s.deps.bulkRedis.exists(k.pool, k.users, k.stream);
}

describe("the books of a rebuilt campaign", () => {
  it("cancelling it voids only the codes still in the pool, never the quarantined ones", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: TOTAL });
    await issueAll(campaignId, 120, "a");
    expect(await persister({ batchSize: 100 }).runOnce()).toBe(100);
    await flushCampaign(campaignId);
    expect(await s.json.rebuildCampaign({ campaignId })).toMatchObject({ allowance: BigInt(ALLOWANCE), quarantined: 100n });

    const { campaign } = await s.json.cancelCampaign({ campaignId });
    expect(campaign).toMatchObject({ issued: 200n, quarantined: 100n, persisted: 100n, voided: 800n });
    expect(await keysLeft(campaignId)).toBe(0);
    expect((await s.json.getCampaign({ campaignId })).campaign).toMatchObject({
      issued: 200n,
      quarantined: 100n,
      persisted: 100n,
      voided: 800n,
    });
    expect(await s.json.verifyCampaign({ campaignId })).toMatchObject({ voided: 800n, problems: [], ok: true });
    expect(await mysqlBooks(campaignId)).toMatchObject({ voidedAndQuarantined: 0, quarantinedCodes: 100 });
  });

  it("a rebuild racing owners on their way to MySQL keeps owners and quarantined codes disjoint", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: TOTAL });
    const k = s.deps.keys.campaign(campaignId);
    await issueAll(campaignId, 120, "b");
    expect(await persister({ batchSize: 50 }).runOnce()).toBe(50); // owners 1..50 in MySQL

    // Owners 81..90: a batch some persister read from the stream before the loss and writes after the rebuild.
    const late = ((await s.deps.bulkRedis.xrange(k.stream, "-", "+")) as RawStreamEntry[])
      .map(parseIssueEvent)
      .filter((e) => e.sequence > 80 && e.sequence <= 90);
    expect(late).toHaveLength(10);

    // Owners 51..80: a batch inside its MySQL transaction, not yet committed, when Redis loses the campaign.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let inFlight = false;
    const held = persister({
      batchSize: 30,
      beforeCommit: async () => {
        inFlight = true;
        await gate;
      },
    });
    const heldPass = held.runOnce();
    await waitFor("a batch to be in flight", () => (inFlight ? true : undefined));
    await flushCampaign(campaignId);

    const startedAt = performance.now();
    const rebuilding = s.json.rebuildCampaign({ campaignId });
    let settled: unknown;
    rebuilding.then((r) => (settled = r), (e: unknown) => (settled = e)); // awaited below; must not go unhandled
    // The rebuild waits for the batch in flight (its shared lock on the campaign row) ...
    try {
      await waitFor("the rebuild to wait for the batch in flight", () => {
        if (settled !== undefined) throw new Error(`the rebuild did not wait: ${String(settled)}`);
        return rebuildWaitingForLock();
      });
    } finally {
      open();
    }
    expect(await heldPass).toBe(30);
    // ... so it quarantines only the 120 codes whose owners really are missing (81..200).
    const rebuilt = await rebuilding;
    expect(rebuilt).toMatchObject({ allowance: BigInt(ALLOWANCE), quarantined: 120n, owners: 80n });

    // The late batch gives 10 of those their owners: they leave the quarantine.
    expect((await writeIssues(s.deps.db, Number(campaignId), late)).unquarantined).toBe(10);
    const recoveryMs = performance.now() - startedAt;
    expect(await mysqlBooks(campaignId)).toEqual({
      owners: 90,
      quarantinedCodes: 110,
      quarantinedCount: 110,
      ownedAndQuarantined: 0,
      voidedAndQuarantined: 0,
    });
    expect((await s.json.getCampaign({ campaignId })).campaign).toMatchObject({ issued: 200n, quarantined: 110n, persisted: 90n });
    expect(await s.json.verifyCampaign({ campaignId })).toMatchObject({ problems: [], ok: true });

    // Owners + quarantined = issued, so a cancellation completes and frees the keys.
    const { campaign } = await s.json.cancelCampaign({ campaignId });
    expect(campaign).toMatchObject({ issued: 200n, quarantined: 110n, persisted: 90n, voided: 800n });
    expect(await keysLeft(campaignId)).toBe(0);
    expect(await s.json.verifyCampaign({ campaignId })).toMatchObject({ problems: [], ok: true });

    recordFault({
      fault: "Redis loses a campaign while one owner batch is uncommitted and another not yet written; rebuild, then cancel, `src/campaigns/rebuild-books.faults.test.ts`",
      behaviour:
        "the quarantine waits for the batch in flight and takes only codes without an owner (120); the late batch's 10 codes leave the quarantine; owners 90 + quarantined 110 = issued 200, none both; the cancel voids the 800 unissued codes only and frees the keys",
      calls: 120,
      issued: 120,
      duplicates: 0,
      lostOwners: 30, // 91..120 were only on the lost stream: their codes stay quarantined
      recoveryMs,
    });
  });
});
