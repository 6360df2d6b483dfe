import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestService, stopTestService, type TestService } from "../../src/testing/harness.js";
import { resolveOptions, type RawFlags } from "./options.js";
import { runLoadtest } from "./run.js";

// Every scenario, scaled down, against a real service (own database and Redis prefix). What is
// asserted is the verdict and exact counts; never a timing.
let s: TestService;
beforeAll(async () => {
  s = await startTestService();
});
afterAll(async () => {
  await stopTestService(s);
});

const run = (flags: RawFlags) => runLoadtest(resolveOptions({ url: s.url, quiet: true, ...flags }));

describe("loadtest scenarios against a real service", () => {
  it("seed: refuses the early call, issues every one of the paced calls, and the integrity holds", async () => {
    const r = await run({ scenario: "seed", coupons: "300", calls: "200", duration: "1", lead: "1" });
    expect(r.integrity).toEqual({ ok: true, violations: [] });
    expect(r).toMatchObject({ scenario: "seed", calls: 200, successes: 200, failures: {} });
    expect(Object.keys(r.latencyMs)).toEqual(["p50", "p90", "p99", "max"]);
    expect(r.persistLagMs).toEqual(expect.any(Number));
    expect(r.throughputRps).toBeGreaterThan(0);
  });

  it("burst: exactly the pool's size wins, everyone else is told sold out", async () => {
    const r = await run({ scenario: "burst", coupons: "200", calls: "300", concurrency: "16", lead: "1" });
    expect(r.integrity).toEqual({ ok: true, violations: [] });
    expect(r).toMatchObject({ calls: 300, successes: 200, failures: { resource_exhausted: 100 } });
  });

  it("ramp: the pool runs out during the ramp and the count is exact", async () => {
    const r = await run({ scenario: "ramp", coupons: "120", rate: "50:250", duration: "1", lead: "1" });
    expect(r.integrity).toEqual({ ok: true, violations: [] });
    expect(r).toMatchObject({ calls: 150, successes: 120, failures: { resource_exhausted: 30 } });
  });

  it("multi: every campaign opening together gives out exactly its own pool", async () => {
    const r = await run({ scenario: "multi", campaigns: "3", coupons: "50", calls: "210", concurrency: "16", lead: "1" });
    expect(r.integrity).toEqual({ ok: true, violations: [] });
    expect(r).toMatchObject({ calls: 210, successes: 150, failures: { resource_exhausted: 60 } });
    expect(r.campaigns.map((c) => [c.calls, c.successes])).toEqual([
      [70, 50],
      [70, 50],
      [70, 50],
    ]);
  });

  it("boundary: nothing succeeds before the start instant, and a pool of 3 gives exactly 3 coupons to 200 callers", async () => {
    const r = await run({ scenario: "boundary", coupons: "3", calls: "200", duration: "1", lead: "1.5", concurrency: "16" });
    expect(r.integrity).toEqual({ ok: true, violations: [] });
    const [window, pool] = r.campaigns;
    expect(window!.calls).toBe(200);
    expect(pool).toMatchObject({ coupons: 3, calls: 200, successes: 3 });
    expect(r.failures.resource_exhausted).toBe(197);
    expect(r.failures.failed_precondition).toBe(200 - window!.successes);
  });
});
