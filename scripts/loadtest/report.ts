import { cpus } from "node:os";
import type { CampaignRun } from "./campaigns.js";
import type { LoadtestOptions } from "./options.js";
import type { CallLog } from "./stats/call-log.js";
import type { LatencySummaryMs } from "./stats/latency-histogram.js";
import { groupByCampaign } from "./verify/issued-view.js";

/** What `--json` writes, and what the summary prints. */
export type LoadtestReport = {
  scenario: string;
  url: string;
  startedAt: string;
  calls: number;
  successes: number;
  /** Connect error code → count. */
  failures: Record<string, number>;
  /** Answered calls per second, from the first call sent to the last answer. */
  throughputRps: number;
  /** Successful calls per second over the same span. */
  successRps: number;
  latencyMs: LatencySummaryMs;
  /** From the last successful answer until every owner was in MySQL; null if that never happened. */
  persistLagMs: number | null;
  durationMs: number;
  /** `shards`: the campaign's sub-pools (1: one pool). */
  campaigns: Array<{ id: string; coupons: number; shards: number; calls: number; successes: number }>;
  generator: { concurrency: number; maxScheduleLagMs: number; cpuMs: number; cores: number; node: string };
  integrity: { ok: boolean; violations: string[] };
};

export function buildReport(args: {
  options: LoadtestOptions;
  startedAt: Date;
  log: CallLog;
  runs: readonly CampaignRun[];
  violations: string[];
  persistLagMs: number | null;
  maxScheduleLagMs: number;
  cpuMs: number;
}): LoadtestReport {
  const { log, options } = args;
  const seconds = log.elapsedMs / 1000;
  const perSecond = (n: number) => (seconds > 0 ? Math.round(n / seconds) : 0);
  return {
    scenario: options.scenario,
    url: options.url,
    startedAt: args.startedAt.toISOString(),
    calls: log.calls,
    successes: log.successes,
    failures: log.failuresObject(),
    throughputRps: perSecond(log.calls),
    successRps: perSecond(log.successes),
    latencyMs: log.latency.summary(),
    persistLagMs: args.persistLagMs,
    durationMs: Math.round(log.elapsedMs),
    campaigns: groupByCampaign(args.runs, log.records).map((c) => ({ id: c.run.id, coupons: c.run.coupons, shards: c.run.shards ?? 1, calls: c.calls, successes: c.successes })),
    generator: { concurrency: options.concurrency, maxScheduleLagMs: args.maxScheduleLagMs, cpuMs: Math.round(args.cpuMs), cores: cpus().length, node: process.version },
    integrity: { ok: args.violations.length === 0, violations: args.violations },
  };
}

const fmt = (n: number) => n.toLocaleString("en-US");

/** The human summary printed at the end of a run. */
export function formatSummary(r: LoadtestReport): string {
  const failures = Object.entries(r.failures).map(([code, n]) => `${code} ${fmt(n)}`).join(", ") || "none";
  const lines = [
    `scenario ${r.scenario} against ${r.url}`,
    `campaigns   ${r.campaigns.map((c) => `#${c.id}: ${fmt(c.successes)}/${fmt(c.calls)} calls won of ${fmt(c.coupons)} coupons${c.shards > 1 ? ` in ${c.shards} sub-pools` : ""}`).join("; ")}`,
    `calls       ${fmt(r.calls)} in ${(r.durationMs / 1000).toFixed(2)} s, ${fmt(r.successes)} succeeded`,
    `throughput  ${fmt(r.throughputRps)} calls/s (${fmt(r.successRps)} successes/s)`,
    `latency     p50 ${r.latencyMs.p50} ms  p90 ${r.latencyMs.p90} ms  p99 ${r.latencyMs.p99} ms  max ${r.latencyMs.max} ms`,
    `errors      ${failures}`,
    `persist lag ${r.persistLagMs === null ? "not drained" : `${fmt(r.persistLagMs)} ms`} (last success → last owner in MySQL)`,
    `generator   ${r.generator.concurrency} connections, ${fmt(r.generator.cpuMs)} ms CPU, schedule lag max ${r.generator.maxScheduleLagMs} ms`,
    r.integrity.ok ? "integrity   OK" : `integrity   VIOLATED (${r.integrity.violations.length}):`,
    ...r.integrity.violations.map((v) => `  - ${v}`),
  ];
  return lines.join("\n");
}
