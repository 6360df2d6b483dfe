import { runClosedLoop } from "../loadtest/drivers/closed-loop.js";
import { IssuePool } from "../loadtest/http/issue-pool.js";
import { CallLog } from "../loadtest/stats/call-log.js";
import type { LatencySummaryMs } from "../loadtest/stats/latency-histogram.js";

export type CeilingResult = { calls: number; answered: number; throughputRps: number; latencyMs: LatencySummaryMs; generatorCpuUsPerCall: number };

/**
 * The generator's own ceiling: the burst driver, with the same connections and calls as the
 * service's burst, against the bare node:http server. Every call gets the same fixed answer.
 */
export async function measureCeiling(url: string, calls: number, concurrency: number): Promise<CeilingResult> {
  const pool = new IssuePool(url, { connections: concurrency, timeoutMs: 30_000 });
  const log = new CallLog();
  try {
    await pool.warm();
    const cpuBefore = process.cpuUsage();
    await runClosedLoop(pool, log, { calls, concurrency, target: (i) => ({ campaign: 0, campaignId: "1", userId: `ceiling-${i}` }) });
    const cpu = process.cpuUsage(cpuBefore);
    return {
      calls: log.calls,
      answered: log.successes,
      throughputRps: Math.round(log.calls / (log.elapsedMs / 1000)),
      latencyMs: log.latency.summary(),
      generatorCpuUsPerCall: Math.round((cpu.user + cpu.system) / log.calls),
    };
  } finally {
    pool.close();
  }
}
