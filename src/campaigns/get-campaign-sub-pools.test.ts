import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CampaignState, type IssuedCoupon } from "../gen/couponpb/coupon_pb.js";
import { usersHomedAt } from "../testing/sub-pools.js";
import { CampaignReader } from "./get-campaign.js";
import { couponClient, createLoadedCampaign, startTestService, stopTestService, waitForPersisted, type TestService } from "../testing/harness.js";

const K = 4;

let s: TestService;
beforeAll(async () => {
  s = await startTestService();
});
afterAll(async () => {
  if (s) await stopTestService(s);
});


type Issue = { userId: string; code: string; sequence: bigint };

async function issueMany(campaignId: bigint, users: string[]): Promise<Issue[]> {
  const client = couponClient(s.url, "binary", 64);
  const r = await Promise.all(users.map((userId) => client.issueCoupon({ campaignId, userId })));
  return r.map((x, i) => ({ userId: users[i]!, code: x.couponCode, sequence: x.sequence }));
}

/** The issues' codes in the order GetCampaign lists them: by sequence. */
const bySequence = (issues: Issue[]) => [...issues].sort((a, b) => Number(a.sequence - b.sequence)).map((i) => i.code);

async function listAll(campaignId: bigint): Promise<IssuedCoupon[]> {
  const out: IssuedCoupon[] = [];
  let pageToken = "";
  do {
    const page = await s.json.listIssuedCoupons({ campaignId, pageSize: 250, pageToken });
    out.push(...page.coupons);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return out;
}

describe("GetCampaign on a campaign of 4 sub-pools", () => {
  it("reports the totals over every sub-pool and lists every issued code, before and after the persister caught up", async () => {
    const total = 2000;
    const { campaignId } = await createLoadedCampaign(s.json, { total, shards: K, name: "sub-pools" });
    await s.persister!.stop();
    let issued: Issue[];
    try {
      // Skewed: sub-pool 0 issues 400, sub-pool 2 all its 500 and its walkers 300 of sub-pool 3's.
      issued = await issueMany(campaignId, [...usersHomedAt(0, K, 400, "r0-"), ...usersHomedAt(2, K, 800, "r2-")]);
      // The sub-pools issue at their own pace, so sequences interleave with gaps: some are above
      // the 1200 issued, and a read that kept "sequence ≤ issued" would miss them.
      expect(issued.some((i) => i.sequence > 1200n)).toBe(true);

      // Before any owner reached MySQL: every code comes from one of the four streams.
      const before = await s.json.getCampaign({ campaignId });
      expect(before.campaign).toMatchObject({
        totalCoupons: BigInt(total),
        issued: 1200n,
        remaining: 800n,
        persisted: 0n,
        loaded: BigInt(total),
        state: CampaignState.OPEN,
        shards: K,
      });
      expect(before.couponCodes).toEqual(bySequence(issued));
      expect((await s.json.getCampaign({ campaignId, omitCodes: true })).campaign).toEqual(before.campaign);
      const listed = await listAll(campaignId);
      expect(listed.map((c) => [c.sequence, c.code, c.userId])).toEqual(
        [...issued].sort((a, b) => Number(a.sequence - b.sequence)).map((i) => [i.sequence, i.code, i.userId]),
      );
    } finally {
      s.persister!.start();
    }

    // While the persister catches up and a burst goes on: each answer is in the very next read.
    const more = issueMany(campaignId, Array.from({ length: 300 }, (_, i) => `m-${i}`));
    const oneByOne: Issue[] = [];
    for (let i = 0; i < 20; i++) {
      const [one] = await issueMany(campaignId, [`one-${i}`]);
      oneByOne.push(one!);
      const read = await s.json.getCampaign({ campaignId });
      expect(read.couponCodes).toContain(one!.code);
    }
    const all = [...issued, ...(await more), ...oneByOne];
    const mid = await s.json.getCampaign({ campaignId });
    expect(mid.campaign).toMatchObject({ issued: BigInt(all.length), remaining: BigInt(total - all.length) });
    expect(mid.couponCodes).toEqual(bySequence(all));
    expect(mid.campaign!.persisted).toBeLessThanOrEqual(BigInt(all.length));

    const after = await waitForPersisted(s.json, campaignId);
    expect(after).toMatchObject({ issued: BigInt(all.length), persisted: BigInt(all.length), remaining: BigInt(total - all.length), shards: K });
    expect((await s.json.getCampaign({ campaignId })).couponCodes).toEqual(bySequence(all));
    expect((await listAll(campaignId)).map((c) => c.code)).toEqual(bySequence(all));
    const [listedCampaign] = (await s.json.listCampaigns({ campaignIds: [campaignId] })).campaigns;
    expect(listedCampaign).toEqual(after);
  });

  it("reports one sub-pool for a campaign of one pool", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 10 });
    expect((await s.json.getCampaign({ campaignId })).campaign).toMatchObject({ shards: 1, issued: 0n, remaining: 10n });
  });
});

describe("GetCampaign's kept listing on a campaign of 4 sub-pools", () => {
  it("is reused while no sub-pool issues, and a new issue in any one of them is listed at once", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 400, shards: K, name: "kept sub-pools" });
    const id = Number(campaignId);
    const issued = await issueMany(campaignId, [...usersHomedAt(0, K, 30, "k0-"), ...usersHomedAt(3, K, 20, "k3-")]);
    await waitForPersisted(s.json, campaignId);
    const reader = new CampaignReader(s.deps, { maxCodes: 1000, keepMinCodes: 20 });

    const first = await reader.read(id, true);
    expect(first.codes).toEqual(bySequence(issued));
    const again = await reader.read(id, true);
    expect(again.codes).toEqual(first.codes);
    expect({ taken: reader.snapshotsTaken, reused: reader.listingsReused }).toEqual({ taken: 1, reused: 1 });

    const [next] = await issueMany(campaignId, usersHomedAt(2, K, 1, "k2-"));
    const after = await reader.read(id, true);
    expect(after.codes).toEqual(bySequence([...issued, next!]));
    expect(after.view).toMatchObject({ issued: 51 });
    expect(reader.snapshotsTaken).toBe(2);
  });
});
