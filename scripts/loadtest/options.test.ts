import { describe, expect, it } from "vitest";
import { resolveOptions, UsageError } from "./options.js";

describe("loadtest options", () => {
  it("defaults to the original seed scenario: 20,000 coupons, 10,000 calls over 10 s, opening 3 s after creation", () => {
    expect(resolveOptions({})).toMatchObject({ scenario: "seed", url: "http://127.0.0.1:8080", coupons: 20_000, calls: 10_000, durationS: 10, leadS: 3 });
  });

  it("gives each scenario working defaults from --scenario alone", () => {
    expect(resolveOptions({ scenario: "multi" })).toMatchObject({ campaigns: 4, coupons: 5_000, calls: 24_000 });
    expect(resolveOptions({ scenario: "ramp" })).toMatchObject({ rate: { fromRps: 500, toRps: 3000 }, durationS: 10, calls: 17_500 });
    expect(resolveOptions({ scenario: "boundary" })).toMatchObject({ coupons: 5, calls: 1_000, durationS: 2 });
  });

  it("derives the seed's spread from --rate, and the ramp's calls from its rates and duration", () => {
    expect(resolveOptions({ calls: "2000", rate: "500" }).durationS).toBe(4);
    expect(resolveOptions({ scenario: "ramp", rate: "100:300", duration: "5" }).calls).toBe(1000);
  });

  it("lists every problem at once as a usage error", () => {
    const attempt = () => resolveOptions({ scenario: "burst", calls: "-3", rate: "10", url: "ftp://x" });
    expect(attempt).toThrow(UsageError);
    expect(attempt).toThrow(/--rate does not apply to the burst scenario[\s\S]*--url must be an http:\/\/ URL[\s\S]*--calls must be an integer/);
  });

  it("splits every campaign into --shards sub-pools (default one pool), refusing more sub-pools than coupons or than the service allows", () => {
    expect(resolveOptions({}).shards).toBe(1);
    expect(resolveOptions({ scenario: "burst", shards: "8" }).shards).toBe(8);
    expect(() => resolveOptions({ shards: "65" })).toThrow('--shards must be an integer from 1 to 64, got "65"');
    expect(() => resolveOptions({ scenario: "boundary", shards: "8" })).toThrow("--shards (8) must not exceed --coupons (5): every sub-pool needs a code");
  });

  it("refuses an unknown scenario, a malformed ramp and a boundary window longer than the lead", () => {
    expect(() => resolveOptions({ scenario: "soak" })).toThrow(/--scenario must be one of seed, burst, ramp, multi, boundary/);
    expect(() => resolveOptions({ scenario: "ramp", rate: "500" })).toThrow(/FROM:TO/);
    expect(() => resolveOptions({ scenario: "boundary", duration: "10", lead: "3" })).toThrow(/--lead \(3 s\) must exceed half of --duration/);
  });
});
