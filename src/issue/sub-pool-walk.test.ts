import { Code, ConnectError } from "@connectrpc/connect";
import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { homeSubPool } from "../campaigns/sub-pools.js";
import { usersHomedAt } from "../testing/sub-pools.js";
import { couponClient, createLoadedCampaign, dropNamespace, startTestService, stopTestService, testNamespace, waitFor, type TestService } from "../testing/harness.js";

let s: TestService;
beforeAll(async () => {
  s = await startTestService();
});
afterAll(async () => {
  if (s) await stopTestService(s);
});

const codeOf = (err: unknown) => ConnectError.from(err).code;

describe("IssueCoupon on a campaign split into sub-pools", () => {
  it("issues every code exactly once across 4 sub-pools, also when most callers hash to one of them", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 1000, shards: 4 });
    const client = couponClient(s.url, "binary", 256);
    // Skewed: half the callers are users whose home is sub-pool 0, which empties first.
    const users: string[] = [];
    for (let i = 0; users.length < 1500; i++) {
      const u = `skew-${i}`;
      if (users.length % 2 === 1 || homeSubPool(u, 4) === 0) users.push(u);
    }
    const first = await Promise.allSettled(users.map((userId) => client.issueCoupon({ campaignId, userId })));
    const got = new Map<string, { code: string; sequence: bigint }>();
    first.forEach((r, i) => r.status === "fulfilled" && got.set(users[i]!, { code: r.value.couponCode, sequence: r.value.sequence }));
    expect(got.size).toBe(1000);
    expect(new Set([...got.values()].map((g) => g.code)).size).toBe(1000);
    expect(new Set([...got.values()].map((g) => g.sequence)).size).toBe(1000);
    const refused = first.flatMap((r) => (r.status === "rejected" ? [codeOf(r.reason)] : []));
    expect(refused).toEqual(Array(500).fill(Code.ResourceExhausted));

    // Every holder asks again, after the sell-out: the same code, whichever sub-pool it came from.
    const again = await Promise.all([...got.keys()].map((userId) => client.issueCoupon({ campaignId, userId })));
    expect(again.map((r) => r.couponCode)).toEqual([...got.values()].map((g) => g.code));
    // A caller who holds nothing, named or not, is refused.
    await expect(client.issueCoupon({ campaignId, userId: "late-user" })).rejects.toMatchObject({ code: Code.ResourceExhausted });
    await expect(client.issueCoupon({ campaignId })).rejects.toMatchObject({ code: Code.ResourceExhausted });

    // Every owner reaches MySQL, under the campaign's id, each sequence once.
    await waitFor("owners in MySQL", async () => {
      const [rows] = await s.deps.mysqlPool.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM coupon_issues WHERE campaign_id = ?", [Number(campaignId)]);
      return Number(rows[0]!.n) === 1000 ? true : undefined;
    });
    const [rows] = await s.deps.mysqlPool.query<RowDataPacket[]>("SELECT code, user_id FROM coupon_issues WHERE campaign_id = ?", [Number(campaignId)]);
    expect(new Map(rows.map((r) => [r.user_id as string, r.code as string]))).toEqual(new Map([...got].map(([u, g]) => [u, g.code])));
  });
});

describe("rate limits on a campaign split into sub-pools", () => {
  let limited: TestService | undefined;
  afterAll(async () => {
    if (limited) await stopTestService(limited);
  });

  /** The code, or the refusal's message. */
  async function answer(p: Promise<{ couponCode: string }>): Promise<string> {
    try {
      return (await p).couponCode;
    } catch (e) {
      return ConnectError.from(e).rawMessage;
    }
  }

  it("counts a user's calls and an address's calls once per call, whichever sub-pools the calls walk", async () => {
    limited = await startTestService({ ISSUE_RATE_LIMIT_PER_USER: "3", ISSUE_RATE_LIMIT_PER_IP: "20", ISSUE_RATE_LIMIT_WINDOW_MS: "60000" });
    const svc = limited;
    const { campaignId } = await createLoadedCampaign(svc.json, { total: 40, shards: 4 });
    const overUser = new RegExp(`^too many requests for campaign ${campaignId} from this user; retry in \\d+ ms$`);
    const overAddress = new RegExp(`^too many requests for campaign ${campaignId} from this address; retry in \\d+ ms$`);
    // Empty the greedy user's home sub-pool (10 codes) first, so their calls walk on to another.
    const greedy = "greedy";
    const home = homeSubPool(greedy, 4);
    const fillers = usersHomedAt(home, 4, 10, "filler-");
    for (const u of fillers) expect(await answer(svc.json.issueCoupon({ campaignId, userId: u }))).toMatch(/^[^ ]{1,10}$/);

    const calls: string[] = [];
    for (let i = 0; i < 5; i++) calls.push(await answer(svc.json.issueCoupon({ campaignId, userId: greedy })));
    expect(calls[0]).toMatch(/^[^ ]{1,10}$/);
    expect(calls.slice(0, 3)).toEqual(Array(3).fill(calls[0])); // one code, given again
    expect(calls[3]).toMatch(overUser);
    expect(calls[4]).toMatch(overUser);

    // One address, many user ids (many home sub-pools): 20 calls pass in all, 10 + 5 made above.
    const puppets: string[] = [];
    for (let i = 0; i < 8; i++) puppets.push(await answer(svc.json.issueCoupon({ campaignId, userId: `puppet-${i}` })));
    for (const a of puppets.slice(0, 5)) expect(a).toMatch(/^[^ ]{1,10}$/);
    for (const a of puppets.slice(5)) expect(a).toMatch(overAddress);
  });
});

describe("a sub-pool out of its issue budget", () => {
  let budgeted: TestService | undefined;
  afterAll(async () => {
    if (budgeted) await stopTestService(budgeted);
  });

  it("sends anonymous callers on to a sub-pool that may issue, and keeps a named caller where their code may be", async () => {
    // Two codes of budget per sub-pool, never raised during the test.
    budgeted = await startTestService({ ISSUE_BUDGET_INITIAL: "4", ISSUE_BUDGET_INTERVAL_MS: "60000" });
    const svc = budgeted;
    const { campaignId } = await createLoadedCampaign(svc.json, { total: 20, shards: 2 });
    const homeZero = usersHomedAt(0, 2, 3, "home0-");
    for (const userId of homeZero.slice(0, 2)) await svc.json.issueCoupon({ campaignId, userId });

    // Sub-pool 0 is over its budget: a named caller whose walk starts there is told to come back.
    await expect(svc.json.issueCoupon({ campaignId, userId: homeZero[2]! })).rejects.toMatchObject({
      code: Code.Unavailable,
      rawMessage: `campaign ${campaignId} is catching up on its issue budget; try again shortly`,
    });
    // Anonymous callers, whichever sub-pool they start at, get sub-pool 1's two codes.
    const anonymous = [await svc.json.issueCoupon({ campaignId }), await svc.json.issueCoupon({ campaignId })];
    expect(new Set(anonymous.map((a) => a.couponCode)).size).toBe(2);
    await expect(svc.json.issueCoupon({ campaignId })).rejects.toMatchObject({ code: Code.Unavailable });
  });
});

describe("holders across a crash between calls", () => {
  it("gives every holder the same code from a restarted instance that has not yet learnt the campaign is split", async () => {
    const namespace = testNamespace();
    const first = await startTestService({}, undefined, namespace);
    let second: TestService | undefined;
    let firstStopped = false;
    try {
      const { campaignId } = await createLoadedCampaign(first.json, { total: 200, shards: 4 });
      const users = [...usersHomedAt(0, 4, 120, "crash-"), ...usersHomedAt(3, 4, 40, "crash3-")];
      const got = new Map<string, string>();
      for (const userId of users) got.set(userId, (await first.json.issueCoupon({ campaignId, userId })).couponCode);
      // Sub-pool 0's 50 codes went first: 70 of its users were served by sub-pools further on.
      await stopTestService(first, { keepData: true });
      firstStopped = true;

      second = await startTestService({}, undefined, namespace);
      const again = await Promise.all(users.map((userId) => second!.json.issueCoupon({ campaignId, userId })));
      expect(new Map(users.map((u, i) => [u, again[i]!.couponCode]))).toEqual(got);
      // And the rest of the campaign still goes to new callers, each code once.
      const rest = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => second!.json.issueCoupon({ campaignId, userId: `new-${i}` })));
      const codes = rest.flatMap((r) => (r.status === "fulfilled" ? [r.value.couponCode] : []));
      expect(codes).toHaveLength(200 - users.length);
      expect(new Set([...got.values(), ...codes]).size).toBe(200);
    } finally {
      if (second) await stopTestService(second);
      else if (firstStopped) await dropNamespace(first.config);
      else await stopTestService(first);
    }
  });
});
