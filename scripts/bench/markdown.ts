import type { LoadtestReport } from "../loadtest/report.js";
import type { CeilingResult } from "./bare-ceiling.js";
import type { Measured } from "./box-load.js";
import type { CreationTiming } from "./creation-timing.js";
import type { Machine } from "./machine.js";

export type BenchResults = {
  date: Date;
  command: string;
  /** The service's node:cluster processes: WORKERS from the environment, else its default (one per core). */
  workers: string;
  machine: Machine;
  burst: Measured<LoadtestReport>;
  seed: Measured<LoadtestReport>;
  ceiling: Measured<CeilingResult>;
  creation: Array<Measured<CreationTiming>>;
};

const fmt = (n: number) => n.toLocaleString("en-US");
const lat = (l: LoadtestReport["latencyMs"]) => `${l.p50} | ${l.p90} | ${l.p99} | ${l.max}`;
const lag = (ms: number | null) => (ms === null ? "not drained" : `${fmt(ms)} ms`);
const verdict = (r: LoadtestReport) => (r.integrity.ok ? "OK" : `VIOLATED (${r.integrity.violations.length})`);
const load = (m: Measured<unknown>) => (m.load ? `${m.load.boxBusyPct} % / ${m.load.foreignPct} %` : "n/a");

function loadRows(b: BenchResults): string[] {
  const burst = b.burst.value;
  const seed = b.seed.value;
  const c = b.ceiling.value;
  return [
    `| (a) burst: ${fmt(burst.campaigns[0]?.coupons ?? 0)} coupons, ${fmt(burst.calls)} callers, ${burst.generator.concurrency} connections | ${fmt(burst.successes)} | ${fmt(burst.throughputRps)} | ${lat(burst.latencyMs)} | ${lag(burst.persistLagMs)} | ${verdict(burst)} | ${load(b.burst)} |`,
    `| (b) seed: ${fmt(seed.campaigns[0]?.coupons ?? 0)} coupons, ${fmt(seed.calls)} calls over 10 s | ${fmt(seed.successes)} | ${fmt(seed.throughputRps)} | ${lat(seed.latencyMs)} | ${lag(seed.persistLagMs)} | ${verdict(seed)} | ${load(b.seed)} |`,
    `| (c) ceiling: bare node:http, fixed JSON answer, same generator and calls as (a) | ${fmt(c.answered)} | ${fmt(c.throughputRps)} | ${lat(c.latencyMs)} | – | – | ${load(b.ceiling)} |`,
  ];
}

const creationTime = (c: CreationTiming) => (c.ms === null ? `not loaded: ${c.error}` : `${(c.ms / 1000).toFixed(2)} s`);

const GROUPS = ["service", "redis", "mariadb", "generator", "bare"] as const;

/** CPU per call of each part over a run's load phase, in µs; "–" for a part with nothing to do there. */
function cpuRow(label: string, m: Measured<unknown>, calls: number): string {
  const cpu = m.loadPhase?.cpuMs;
  const cells = GROUPS.map((g) => (cpu && calls > 0 && (cpu[g] ?? 0) > 0 ? fmt(Math.round(((cpu[g] ?? 0) * 1000) / calls)) : "–"));
  return `| ${label} | ${cells.join(" | ")} |`;
}

/** docs/benchmarks.md: the figures of one `npm run bench`, with what they were measured on. */
export function renderBenchmarks(b: BenchResults): string {
  const burst = b.burst.value;
  const ceiling = b.ceiling.value;
  const ratio = ceiling.throughputRps > 0 ? burst.throughputRps / ceiling.throughputRps : 0;
  const m = b.machine;
  const violations = [burst, b.seed.value].flatMap((r) => r.integrity.violations.map((v) => `- ${r.scenario}: ${v}`));
  return [
    "# Benchmarks",
    "",
    `Produced by \`${b.command}\` on ${b.date.toISOString().slice(0, 16).replace("T", " ")} UTC; the same command regenerates this file.`,
    "The test suite asserts no timings: figures live here only.",
    "",
    "## Machine",
    "",
    `${m.cores} cores (${m.cpuModel}), ${m.memoryGb} GB RAM, Node ${m.node}, MariaDB ${m.mysql}, Redis ${m.redis}.`,
    `The load generator, the service (production build \`node dist/src/main.js\`, ${b.workers}), Redis and MariaDB`,
    "all share these cores: every figure is a whole-machine figure, not the service's alone. Each run waits until the",
    "machine is quiet (≤ 15 % busy); runs (a)–(c) are taken again (up to three times) when other processes used more than",
    "10 % of the machine meanwhile, campaign creation once (a retry would time a bigger index). The busy / foreign column",
    "gives, as shares of the whole machine, how busy it was during the run and how much went to processes outside the",
    "bench (anything but the generator, the service, the bare server, Redis and MariaDB).",
    "",
    "## IssueCoupon under load",
    "",
    "| run | successes | throughput (calls/s) | p50 ms | p90 ms | p99 ms | max ms | persist lag | integrity | busy / foreign |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ...loadRows(b),
    "",
    `- **Service / ceiling: ${(ratio * 100).toFixed(0)} %.** The burst's ${fmt(burst.throughputRps)} IssueCoupon calls/s against the`,
    `  ${fmt(ceiling.throughputRps)} calls/s the same generator drives into a do-nothing node:http server`,
    `  (generator CPU there: ${ceiling.generatorCpuUsPerCall} µs per call). Burst successes alone: ${fmt(burst.successRps)} coupons/s.`,
    "- **Persist lag:** from the last successful IssueCoupon answer until every owner was in MySQL",
    "  (rows counted in `coupon_issues`, polled every 25 ms).",
    "- The seed run is paced by design (1,000 calls/s): its throughput is the offered rate; its latency is the point.",
    "",
    "### CPU per call",
    "",
    "CPU time each part used per call over the load phase (from the opening to the last answer: no pool loading, no",
    "verification), in µs. Unlike throughput, this does not depend on who else was using the machine. Redis and MariaDB",
    "are the machine's shared servers: their share includes anything else that used them meanwhile. The persister's",
    "MySQL writes that happen after the last answer are not in it.",
    "",
    "| run | service | Redis | MariaDB | generator | bare server |",
    "|---|---|---|---|---|---|",
    cpuRow("(a) burst", b.burst, burst.calls),
    cpuRow("(b) seed", b.seed, b.seed.value.calls),
    cpuRow("(c) ceiling", b.ceiling, ceiling.calls),
    ...(violations.length > 0 ? ["", "## Integrity violations", "", ...violations] : []),
    "",
    "## Campaign creation",
    "",
    "From CreateCampaign to a loaded pool (every code generated, written to MySQL and pushed to Redis), polled through",
    "GetCampaign every 50 ms.",
    "",
    "| codes | time | codes/s | busy / foreign |",
    "|---|---|---|---|",
    ...b.creation.map((c) => `| ${fmt(c.value.coupons)} | ${creationTime(c.value)} | ${c.value.codesPerSecond === null ? "–" : fmt(c.value.codesPerSecond)} | ${load(c)} |`),
    "",
  ].join("\n");
}
