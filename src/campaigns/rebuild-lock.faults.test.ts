import { Code, ConnectError } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordFault } from "../testing/fault-report.js";
import {
  createLoadedCampaign,
  startTestService,
  stopTestService,
  TEST_REDIS_URL,
  testNamespace,
  waitFor,
  waitForPersisted,
  type TestService,
} from "../testing/harness.js";

/**
 * Fault 14.3: an operator (or a script retrying) fires ten rebuilds of one lost campaign at two
 * instances at once. Five go to each instance, so two of them can meet on one MySQL pool.
 */
const TOTAL = 60_000; // 12 chunks to push: the rebuild takes long enough for the others to meet it
const ns = testNamespace();
let a: TestService;
let b: TestService;
let direct: Redis;

beforeAll(async () => {
  a = await startTestService({}, undefined, ns);
  b = await startTestService({}, undefined, ns);
  direct = new Redis(TEST_REDIS_URL);
});
afterAll(async () => {
  direct?.disconnect();
  if (a) await stopTestService(a, { keepData: true });
  if (b) await stopTestService(b);
});

describe("ten concurrent rebuilds of one lost campaign on two instances", () => {
  it("rebuild it exactly once; the others are refused with a clear error; the pool holds no code twice", async () => {
    const { campaignId } = await createLoadedCampaign(a.json, { total: TOTAL });
    await Promise.all(Array.from({ length: 20 }, (_, i) => a.json.issueCoupon({ campaignId, userId: `u${i}` })));
    await waitForPersisted(a.json, campaignId);
    const k = a.deps.keys.campaign(campaignId);
    await direct.del(k.meta, k.pool, k.users, k.stream); // Redis lost the campaign

    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? a : b).json.rebuildCampaign({ campaignId }).then(
          (r) => ({ rebuilt: r }),
          (e: unknown) => ({ refused: ConnectError.from(e) }),
        ),
      ),
    );
    const rebuilt = outcomes.filter((o) => "rebuilt" in o);
    const refused = outcomes.flatMap((o) => ("refused" in o ? [o.refused] : []));
    expect(rebuilt).toHaveLength(1);
    expect(refused).toHaveLength(9);
    for (const err of refused) {
      expect(err.code).toBe(Code.FailedPrecondition);
      expect([
        `another rebuild of campaign ${campaignId} is running; wait for it to finish`,
        `campaign ${campaignId} still has its pool in Redis; there is nothing to rebuild`,
      ]).toContain(err.rawMessage);
    }
    // Some really met the running rebuild (not only came after it).
    expect(refused.some((e) => e.rawMessage.startsWith("another rebuild"))).toBe(true);

    const pool = await direct.lrange(k.pool, 0, -1);
    expect(new Set(pool).size).toBe(pool.length);
    expect(BigInt(pool.length)).toBe((rebuilt[0] as { rebuilt: { reloaded: bigint } }).rebuilt.reloaded);
    // The lock was released on the connection that held it: a later rebuild is refused only
    // because the pool is back, never because a lock was left behind.
    // Every code of the pool comes back once more: reloaded, or quarantined when the issue budget
    // moved on past it meanwhile (its refresher runs on its own clock, so which share is which varies).
    await direct.del(k.meta, k.pool, k.users, k.stream);
    const first = (rebuilt[0] as { rebuilt: { quarantined: bigint } }).rebuilt;
    const again = await b.json.rebuildCampaign({ campaignId });
    expect(again.reloaded + (again.quarantined - first.quarantined)).toBe(BigInt(pool.length));
    const books = await a.json.verifyCampaign({ campaignId });
    expect(books.ok, books.problems.join("; ")).toBe(true);
    recordFault({
      fault: "ten concurrent rebuilds of one lost campaign on two instances, `src/campaigns/rebuild-lock.faults.test.ts`",
      behaviour: "exactly one rebuilds (GET_LOCK held on one dedicated connection, preconditions checked again under it); nine refused `failed_precondition`; no code twice in the pool",
      calls: 10,
      issued: 20,
      duplicates: pool.length - new Set(pool).size,
      lostOwners: 0,
    });
  });

  it("a rebuild whose lock connection is lost stops before its next write, and a new rebuild completes the campaign", async () => {
    const { campaignId } = await createLoadedCampaign(a.json, { total: TOTAL });
    await Promise.all(Array.from({ length: 20 }, (_, i) => a.json.issueCoupon({ campaignId, userId: `v${i}` })));
    await waitForPersisted(a.json, campaignId);
    const k = a.deps.keys.campaign(campaignId);
    await direct.del(k.meta, k.pool, k.users, k.stream);

    const rebuilding = a.json.rebuildCampaign({ campaignId }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    // The connection that holds the lock, as MySQL sees it; killing it takes the lock away.
    const holder = await waitFor("the rebuild to hold its lock", async () => {
      const [rows] = (await b.deps.db.$client.query("SELECT IS_USED_LOCK(?) AS id", [`coupons_rebuild_${campaignId}`])) as unknown as [
        Array<{ id: number | null }>,
      ];
      return rows[0]?.id ?? undefined;
    }, 10_000, 2);
    await b.deps.db.$client.query(`KILL ${Number(holder)}`);
    const err = await rebuilding;
    expect(err?.code).toBe(Code.Unavailable);
    expect(err?.rawMessage).toMatch(/lost the rebuild lock of campaign \d+.*rebuild again|MySQL\) is unavailable/);

    // Nothing was issued from the half-filled pool, and the rebuild can simply run again.
    const meta = await direct.hgetall(k.meta);
    if (meta.state) expect(meta).toMatchObject({ state: "loading", fill: "rebuild" });
    const again = await b.json.rebuildCampaign({ campaignId });
    const pool = await direct.lrange(k.pool, 0, -1);
    expect(new Set(pool).size).toBe(pool.length);
    expect(BigInt(pool.length)).toBe(again.reloaded);
    const books = await a.json.verifyCampaign({ campaignId });
    expect(books.ok, books.problems.join("; ")).toBe(true);
    recordFault({
      fault: "the MySQL connection holding a rebuild's lock is killed mid-rebuild, `src/campaigns/rebuild-lock.faults.test.ts`",
      behaviour: "the rebuild stops before its next write (`unavailable`, the pool left in `loading`, nothing issued from it); a second rebuild completes the campaign, no code twice",
      calls: 2,
      issued: 20,
      duplicates: pool.length - new Set(pool).size,
      lostOwners: 0,
    });
  });
});
