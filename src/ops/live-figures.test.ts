import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLoadedCampaign, startTestService, stopTestService, waitForPersisted, type TestService } from "../testing/harness.js";
import { readLiveFigures } from "./live-figures.js";

let s: TestService;
beforeAll(async () => {
  s = await startTestService();
});
afterAll(async () => {
  if (s) await stopTestService(s);
});

describe("the live figures of a campaign of 4 sub-pools", () => {
  it("report its pool and its persister lag as one campaign, summed over its sub-pools", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 40, shards: 4 });
    const id = String(campaignId);
    await s.persister!.stop();
    try {
      // Distinct users start at different sub-pools: the lag is on several streams.
      for (let i = 0; i < 6; i++) await s.json.issueCoupon({ campaignId, userId: `lf-${i}` });
      const f = await readLiveFigures(s.deps.bulkRedis, s.deps.keys);
      expect(f.poolRemaining.get(id)).toBe(34);
      expect(f.lagByCampaign.get(id)?.entries).toBe(6);
      expect(f.lagEntries).toBe(6);
      // Keyed by campaign, never by sub-pool.
      expect([...f.poolRemaining.keys(), ...f.lagByCampaign.keys()].filter((k) => k.startsWith(`${id}.`))).toEqual([]);
    } finally {
      s.persister!.start();
    }
    await waitForPersisted(s.json, campaignId);
    const after = await readLiveFigures(s.deps.bulkRedis, s.deps.keys);
    expect(after.lagByCampaign.has(id)).toBe(false);
    expect(after.poolRemaining.get(id)).toBe(34);
  });
});
