import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CampaignState } from "../gen/couponpb/coupon_pb.js";
import { couponClient, startTestService, stopTestService, waitForPersisted, type TestService } from "../testing/harness.js";
import { burst, createCampaign, failure } from "./lifecycle-testing.js";

let s: TestService;
beforeAll(async () => {
  s = await startTestService();
});
afterAll(async () => {
  if (s) await stopTestService(s);
});

describe("end time", () => {
  it("refuses an end_time that is not after start_time, or already past", async () => {
    const start = Date.now() + 60_000;
    for (const [endMs, message] of [
      [start, "end_time must be after start_time"],
      [start - 1, "end_time must be after start_time"],
      [Date.now() - 1000, "end_time must be after start_time"],
    ] as const) {
      const err = await failure(
        s.json.createCampaign({ name: "x", startTime: timestampFromMs(start), endTime: timestampFromMs(endMs), totalCoupons: 1n }),
      );
      expect(err).toEqual({ code: Code.InvalidArgument, message });
    }
    const pastStart = Date.now() - 60_000;
    const err = await failure(
      s.json.createCampaign({
        name: "x",
        startTime: timestampFromMs(pastStart),
        endTime: timestampFromMs(Date.now() - 1000),
        totalCoupons: 1n,
      }),
    );
    expect(err).toEqual({ code: Code.InvalidArgument, message: "end_time must be in the future" });
  });

  it("issues nothing from the end instant on, to a burst that crosses it, and leaves the rest of the pool unissued", async () => {
    // Long enough for the pool to load first on a busy machine.
    const endMs = Date.now() + 5000;
    const campaignId = await createCampaign(s.json, { total: 60_000, endMs });
    const view = (await s.json.getCampaign({ campaignId })).campaign!;
    expect(timestampMs(view.endTime!)).toBe(endMs);
    expect(view.state).toBe(CampaignState.OPEN);

    // Keep calling until 300 calls sent after the end instant have come back.
    let afterEnd = 0;
    const attempts = await burst(couponClient(s.url, "binary", 64), campaignId, {
      workers: 32,
      stop: (a) => a.sentAt > endMs && ++afterEnd >= 300,
    });
    const successes = attempts.filter((a) => a.ok);
    const failures = attempts.filter((a) => a.err);
    expect(successes.length).toBeGreaterThan(0);
    expect(successes.length).toBeLessThan(60_000);
    // Nothing sent at or after the end instant succeeded, and every refusal says why.
    expect(attempts.filter((a) => a.sentAt >= endMs && a.ok)).toEqual([]);
    const ended = `campaign ${campaignId} has ended; it closed at ${new Date(endMs).toISOString()}`;
    expect(new Set(failures.map((a) => JSON.stringify(a.err)))).toEqual(
      new Set([JSON.stringify({ code: Code.FailedPrecondition, message: ended })]),
    );

    // Redis's clock stamped every issue before the end; the count, the list and the pool agree.
    const persisted = await waitForPersisted(s.json, campaignId);
    expect(persisted).toMatchObject({
      issued: BigInt(successes.length),
      remaining: BigInt(60_000 - successes.length),
      state: CampaignState.ENDED,
    });
    const issued = await s.json.listIssuedCoupons({ campaignId, pageSize: 1000 });
    let all = issued.coupons;
    for (let token = issued.nextPageToken; token !== ""; ) {
      const page = await s.json.listIssuedCoupons({ campaignId, pageSize: 1000, pageToken: token });
      all = all.concat(page.coupons);
      token = page.nextPageToken;
    }
    expect(all).toHaveLength(successes.length);
    expect(all.every((c) => timestampMs(c.issuedAt!) < endMs)).toBe(true);
    expect(new Set(all.map((c) => c.code))).toEqual(new Set(successes.map((a) => a.ok!.code)));

    // A user who already holds a code gets the closing answer too; nothing moves any more.
    const holder = successes[0]!.userId;
    expect(await failure(s.json.issueCoupon({ campaignId, userId: holder }))).toEqual({
      code: Code.FailedPrecondition,
      message: ended,
    });
    expect((await s.json.getCampaign({ campaignId })).campaign).toMatchObject({
      issued: BigInt(successes.length),
      remaining: BigInt(60_000 - successes.length),
    });
  });
});
