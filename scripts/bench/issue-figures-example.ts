import type { IssueFigures, LatencyRun, RunLoad, ThroughputRun } from "./issue-figures.js";

/**
 * A plausible set of IssueCoupon figures with round numbers, for the renderer's tests: each
 * verdict of docs/benchmarks.md can be read off by hand (see issue-markdown.test.ts).
 */
const load = (service: number, calls: number): RunLoad => ({
  wallMs: 5_000,
  boxBusyPct: 100,
  foreignPct: 4,
  // CPU per call in µs × calls / 1000 = ms: service `service` µs, Redis 20, MariaDB 10, generator 15, bare 0.
  cpuMs: { service: (service * calls) / 1000, redis: (20 * calls) / 1000, mariadb: (10 * calls) / 1000, generator: (15 * calls) / 1000, bare: 0, idle: 1 },
});

export function closedRun(rps: number, p50: number, p99: number, extra: Partial<ThroughputRun> = {}): ThroughputRun {
  const calls = rps * 5;
  return {
    calls,
    ok: calls,
    refused: 0,
    failed: 0,
    durationMs: 5_000,
    rps,
    latencyMs: { p50, p90: p50 * 2, p99, max: p99 * 2 },
    generatorCpuUsPerCall: 15,
    load: load(100, calls),
    ...extra,
  };
}

export function openRun(rps: number, p50: number, p99: number): LatencyRun {
  const calls = rps * 5;
  return {
    offeredRps: rps,
    calls,
    ok: calls,
    failed: 0,
    achievedRps: rps,
    latencyMs: { p50, p90: p50 * 2, p99, max: p99 * 2 },
    sendLagMs: { p50: 0.5, p90: 0.8, p99: 1.5, max: 3 },
    generatorCpuUsPerCall: 40,
    load: load(120, calls),
  };
}

export function exampleIssueFigures(): IssueFigures {
  const refused = (rps: number) => closedRun(rps, 3, 20, { ok: 0, refused: rps * 5 });
  return {
    generator: { closedLoop: "wrk debian/4.1.0-3+b2 [epoll], 2 threads, scripts/bench/wrk-issue.lua", name: "wrk", openLoop: "Node, scripts/bench/open-loop-rate.ts" },
    rounds: 3,
    latencyRounds: 3,
    connections: 100,
    runMs: { throughput: 5_000, latency: 5_000, refusal: 3_000 },
    generators: { wrk: [closedRun(20_000, 4, 30)], node: [closedRun(16_000, 5, 40)] },
    throughput: {
      bare: [closedRun(20_000, 4, 30), closedRun(21_000, 4, 30), closedRun(19_000, 4, 30)],
      on: [300, 400, 350].map((lag, i) => closedRun([8_000, 9_000, 7_000][i]!, 11, 90, { persistLagMs: lag, issued: 40_000, persisted: 40_000 })),
      off: [closedRun(8_500, 10, 80), closedRun(9_000, 10, 80), closedRun(8_000, 10, 80)],
      always: [closedRun(2_000, 40, 120, { persistLagMs: 100, fsyncs: 2_500 }), closedRun(2_100, 40, 120, { persistLagMs: 100, fsyncs: 2_500 }), closedRun(1_900, 40, 120, { persistLagMs: 100, fsyncs: 2_500 })],
    },
    latency: { rps: 4_000, bare: [openRun(4_000, 1, 6), openRun(4_000, 1, 7), openRun(4_000, 1, 8)], service: [openRun(4_000, 1.5, 12), openRun(4_000, 1.8, 13), openRun(4_000, 2.5, 20)] },
    latencyRetakes: 1,
    alwaysLatency: { rps: 1_000, bare: [openRun(1_000, 1, 4)], service: [openRun(1_000, 9, 30)] },
    refusals: {
      bare: [closedRun(20_000, 4, 30)],
      soldOutAnonymous: [refused(17_000)],
      soldOutNamed: [refused(15_000)],
      soldOutHolder: [closedRun(10_000, 8, 40)],
      notStartedAnonymous: [refused(19_000)],
      notStartedNamed: [refused(18_000)],
    },
    burst: {
      coupons: 100_000,
      calls: 100_060,
      issueRps: 8_000,
      latencyMs: { p50: 11, p90: 20, p99: 90, max: 200 },
      persistLagMs: 800,
      issued: 100_000,
      state: "CAMPAIGN_STATE_SOLD_OUT",
      mysql: { rows: 100_000, codes: 100_000, users: 100_000 },
      load: null,
    },
    drain: { issues: 50_000, ms: 2_000, issuesPerSecond: 25_000, cpuMs: { persister: 2_000, mariadb: 1_000, redis: 500 } },
    durability: { redis: "7.0.15", fsyncsPerSecond: 900, dir: "/tmp/coupon-bench-redis-x", tmpfs: false },
    violations: [],
  };
}
