import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  couponClient,
  createLoadedCampaign,
  startTestService,
  stopTestService,
  waitFor,
  waitForPersisted,
  type TestService,
} from "../testing/harness.js";

let fast: TestService;
let connect: TestService;
beforeAll(async () => {
  [fast, connect] = await Promise.all([startTestService(), startTestService({ ISSUE_PATH: "connect" })]);
});
afterAll(async () => {
  await Promise.all([fast && stopTestService(fast), connect && stopTestService(connect)]);
});

/** Samples of the Prometheus text exposition: `name{labels}` → value. */
async function scrape(s: TestService): Promise<Map<string, number>> {
  const res = await fetch(`${s.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

async function burst(s: TestService, campaignId: bigint, callers: number, users = "m") {
  const client = couponClient(s.url, "binary", 64);
  const results = await Promise.allSettled(
    Array.from({ length: callers }, (_, i) => client.issueCoupon({ campaignId, userId: `${users}-${i}` })),
  );
  const ok = results.filter((r) => r.status === "fulfilled").length;
  const codes = results.flatMap((r) => (r.status === "rejected" ? [ConnectError.from(r.reason).code] : []));
  return { ok, soldOut: codes.filter((c) => c === Code.ResourceExhausted).length, other: codes.length - codes.filter((c) => c === Code.ResourceExhausted).length };
}

describe("/metrics", () => {
  for (const path of ["fast", "connect"] as const) {
    it(`counts a burst on the ${path} path exactly as the callers saw it: codes handed out and sold-out answers`, async () => {
      const s = path === "fast" ? fast : connect;
      const before = await scrape(s);
      const { campaignId } = await createLoadedCampaign(s.json, { total: 150 });
      const seen = await burst(s, campaignId, 400);
      expect(seen).toEqual({ ok: 150, soldOut: 250, other: 0 });

      const after = await scrape(s);
      const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
      expect(delta('coupon_issue_total{code="ok"}')).toBe(150);
      expect(delta('coupon_issue_total{code="resource_exhausted"}')).toBe(250);
      expect(delta("coupon_issue_duration_seconds_count")).toBe(400);
      expect(delta('coupon_issue_duration_seconds_bucket{le="+Inf"}')).toBe(400);
      expect(after.get("coupon_issue_duration_seconds_sum")).toBeGreaterThan(before.get("coupon_issue_duration_seconds_sum") ?? 0);
      // A pool load was timed, and the process metrics are there.
      expect(delta("coupon_campaign_load_seconds_count")).toBe(1);
      expect(after.get("coupon_campaign_load_codes_per_second")).toBeGreaterThan(0);
      expect(after.has("process_cpu_user_seconds_total")).toBe(true);
      expect(after.get('coupon_dependency_errors_total{dependency="redis",source="connection"}')).toBe(0);
      if (path === "connect") expect(delta('coupon_rpc_requests_total{method="IssueCoupon",code="ok"}')).toBe(150);
    });
  }

  it("shows the pool left in each open campaign and the persister's lag, which returns to zero", async () => {
    const { campaignId } = await createLoadedCampaign(fast.json, { total: 40 });
    const seen = await burst(fast, campaignId, 15);
    expect(seen.ok).toBe(15);
    const samples = await scrape(fast);
    expect(samples.get(`coupon_pool_remaining{campaign_id="${campaignId}"}`)).toBe(25);
    await waitForPersisted(fast.json, campaignId);
    const drained = await waitFor("the lag gauge to read 0", async () => {
      const m = await scrape(fast);
      return m.get("coupon_persist_lag_entries") === 0 ? m : undefined;
    });
    expect(drained.get("coupon_persist_lag_oldest_seconds")).toBe(0);
    expect(drained.get("coupon_persister_pass_entries_sum")).toBeGreaterThanOrEqual(15);
    // A sold-out campaign is not open: it leaves the gauge.
    expect(await burst(fast, campaignId, 30, "late")).toEqual({ ok: 25, soldOut: 5, other: 0 });
    expect((await scrape(fast)).has(`coupon_pool_remaining{campaign_id="${campaignId}"}`)).toBe(false);
  });
});
