import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLoadedCampaign, startTestService, stopTestService, waitForPersisted, type TestService } from "../testing/harness.js";
import { campaignFiguresReader } from "./campaign-figures.js";

let s: TestService;
beforeAll(async () => {
  s = await startTestService();
});
afterAll(async () => {
  if (s) await stopTestService(s);
});

describe("the console's figures of a campaign of 4 sub-pools", () => {
  it("count what every sub-pool issued, holds and has still on its stream, as GetCampaign does", async () => {
    const { campaignId } = await createLoadedCampaign(s.json, { total: 40, shards: 4 });
    const id = Number(campaignId);
    const read = campaignFiguresReader(s.deps);
    await s.persister!.stop();
    try {
      for (let i = 0; i < 6; i++) await s.json.issueCoupon({ campaignId, userId: `cf-${i}` });
      const figures = (await read([id])).get(id)!;
      expect(figures).toMatchObject({ state: "open", total: 40, issued: 6, remaining: 34, lagEntries: 6 });
      const view = (await s.json.getCampaign({ campaignId, omitCodes: true })).campaign!;
      expect([BigInt(figures.issued), BigInt(figures.remaining)]).toEqual([view.issued, view.remaining]);
    } finally {
      s.persister!.start();
    }
    await waitForPersisted(s.json, campaignId);
    await s.json.pauseCampaign({ campaignId });
    expect((await read([id])).get(id)).toMatchObject({ state: "paused", issued: 6, remaining: 34, lagEntries: 0, lagSeconds: 0 });
  });
});
