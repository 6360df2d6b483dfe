import { IssuePool } from "../loadtest/http/issue-pool.js";
import { LatencyHistogram, type LatencySummaryMs } from "../loadtest/stats/latency-histogram.js";

/**
 * Latency at a fixed offered rate, open loop: call i is due at start + i / rps whether or not
 * earlier calls were answered (users arrive on their own schedule), and its latency runs from
 * that due instant to its answer. A server, or a generator, that falls behind therefore shows its
 * whole delay in the figures instead of hiding it by sending less (no coordinated omission).
 *
 * Node, for the service and the bare server alike: wrk cannot send on a schedule, and wrk2 (which
 * can) is not packaged. The scheduler wakes every millisecond and sends what has come due; how
 * late it sent (`sendLagMs`) is reported beside the latency so that the generator's own share of
 * it is visible: it is the same for both servers at the same rate.
 */
export type OpenLoopSpec = {
  url: string;
  campaignId: string;
  /** User ids `<tag>-<n>`, one per call. */
  tag: string;
  rps: number;
  durationMs: number;
  /** Keep-alive connections; a call due while all are busy waits for one (and that wait counts). */
  connections: number;
};

export type OpenLoopResult = {
  offeredRps: number;
  calls: number;
  ok: number;
  /** Calls answered with anything but a coupon (refusals, timeouts, dropped connections). */
  failed: number;
  /** Answers per second over the run (below the offered rate when the server could not keep up). */
  achievedRps: number;
  /** From each call's due instant to its answer. */
  latencyMs: LatencySummaryMs;
  /** How late the generator's scheduler handed each call over after its due instant: its own share of the latency. */
  sendLagMs: LatencySummaryMs;
  generatorCpuUsPerCall: number;
};

const TICK_MS = 1;

export async function runAtRate(spec: OpenLoopSpec): Promise<OpenLoopResult> {
  const pool = new IssuePool(spec.url, { connections: spec.connections, timeoutMs: 10_000 });
  const latency = new LatencyHistogram();
  const sendLag = new LatencyHistogram();
  const total = Math.max(1, Math.round((spec.rps * spec.durationMs) / 1000));
  const gapMs = 1000 / spec.rps;
  let ok = 0;
  let failed = 0;
  let lastAnswerAt = 0;
  const inFlight = new Set<Promise<void>>();
  try {
    await pool.warm();
    const cpuBefore = process.cpuUsage();
    const t0 = performance.now() + 5;
    const call = async (i: number, due: number) => {
      sendLag.recordMs(performance.now() - due);
      const outcome = await pool.issue(spec.campaignId, `${spec.tag}-${i}`);
      const now = performance.now();
      latency.recordMs(now - due);
      lastAnswerAt = now;
      if (outcome.ok) ok++;
      else failed++;
    };
    let i = 0;
    while (i < total) {
      const now = performance.now();
      while (i < total && t0 + i * gapMs <= now) {
        const p = call(i, t0 + i * gapMs);
        i++;
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      }
      // A timer, never a bare microtask: answers must be read while calls are being sent.
      if (i < total) await new Promise((r) => setTimeout(r, TICK_MS));
    }
    await Promise.all(inFlight);
    const cpu = process.cpuUsage(cpuBefore);
    return {
      offeredRps: Math.round(spec.rps),
      calls: total,
      ok,
      failed,
      achievedRps: Math.round(total / ((lastAnswerAt - t0) / 1000)),
      latencyMs: latency.summary(),
      sendLagMs: sendLag.summary(),
      generatorCpuUsPerCall: Math.round((cpu.user + cpu.system) / total),
    };
  } finally {
    pool.close();
  }
}
