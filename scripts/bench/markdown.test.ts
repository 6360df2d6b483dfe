import { describe, expect, it } from "vitest";
import type { LoadtestReport } from "../loadtest/report.js";
import { renderBenchmarks, type BenchResults } from "./markdown.js";

const latency = { p50: 2, p90: 4, p99: 9, max: 30 };
function report(over: Partial<LoadtestReport>): LoadtestReport {
  return {
    scenario: "burst",
    url: "http://127.0.0.1:1",
    startedAt: "2026-11-26T00:00:00.000Z",
    calls: 120_000,
    successes: 100_000,
    failures: { resource_exhausted: 20_000 },
    throughputRps: 6_000,
    successRps: 5_000,
    latencyMs: latency,
    persistLagMs: 1_234,
    durationMs: 20_000,
    campaigns: [{ id: "1", coupons: 100_000, calls: 120_000, successes: 100_000 }],
    generator: { concurrency: 100, maxScheduleLagMs: 0, cpuMs: 5_000, cores: 2, node: "v20" },
    integrity: { ok: true, violations: [] },
    ...over,
  };
}
const load = { boxBusyPct: 98, foreignPct: 3, cpuMs: { service: 6_000, redis: 960, mariadb: 1_200, generator: 7_200, bare: 0 } };
const measured = <T>(value: T) => ({ value, load, loadPhase: load, quietWaitMs: 1000, busyBeforePct: 2 });

const results: BenchResults = {
  date: new Date("2026-11-26T06:00:00Z"),
  command: "npm run bench",
  workers: "WORKERS default: one process per core, 2",
  machine: { cores: 2, cpuModel: "AMD EPYC", memoryGb: 24, node: "v20.20.2", mysql: "10.11", redis: "7.0.15" },
  burst: measured(report({})),
  seed: measured(report({ scenario: "seed", calls: 10_000, successes: 10_000, failures: {}, throughputRps: 1_000, campaigns: [{ id: "2", coupons: 20_000, calls: 10_000, successes: 10_000 }] })),
  ceiling: measured({ calls: 120_000, answered: 120_000, throughputRps: 15_000, latencyMs: latency, generatorCpuUsPerCall: 60 }),
  creation: [measured({ coupons: 100_000, ms: 2_000, codesPerSecond: 50_000 })],
};

describe("docs/benchmarks.md", () => {
  it("states the machine, each run with its load, the service/ceiling ratio and the creation rates", () => {
    const md = renderBenchmarks(results);
    expect(md).toContain("2 cores (AMD EPYC), 24 GB RAM, Node v20.20.2, MariaDB 10.11, Redis 7.0.15.");
    expect(md).toContain("| (a) burst: 100,000 coupons, 120,000 callers, 100 connections | 100,000 | 6,000 | 2 | 4 | 9 | 30 | 1,234 ms | OK | 98 % / 3 % |");
    expect(md).toContain("**Service / ceiling: 40 %.**");
    expect(md).toContain("| 100,000 | 2.00 s | 50,000 | 98 % / 3 % |");
    expect(md).toContain("| (a) burst | 50 | 8 | 10 | 60 | – |");
    expect(md).not.toContain("Integrity violations");
  });

  it("lists integrity violations when a run had any", () => {
    const bad = { ...results, seed: measured(report({ scenario: "seed", integrity: { ok: false, violations: ["campaign 2: 9 of 10 calls succeeded"] } })) };
    expect(renderBenchmarks(bad)).toContain("## Integrity violations\n\n- seed: campaign 2: 9 of 10 calls succeeded");
  });
});
