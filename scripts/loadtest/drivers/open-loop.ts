import { sleepMs, sleepUntil, wallNowMs } from "../clock.js";
import type { IssuePool } from "../http/issue-pool.js";
import type { CallLog } from "../stats/call-log.js";
import { timedIssue, type CallTarget } from "./timed-call.js";

/** How often the scheduler wakes to send the calls that have come due, in ms. */
const TICK_MS = 1;

export type OpenLoopPlan = {
  calls: number;
  /** Wall-clock instant of offset 0, in ms. */
  startAtMs: number;
  /** When call `i` is due, in ms after `startAtMs` (non-decreasing in i). */
  offsetMs: (i: number) => number;
  target: (i: number) => CallTarget;
};

/**
 * Sends each call at its planned instant whether or not earlier calls were answered (an arrival
 * rate, like real users), and returns once every call is answered. Returns how late the latest
 * call left compared with its plan: a large value means the generator itself fell behind.
 */
export async function runOpenLoop(pool: IssuePool, log: CallLog, plan: OpenLoopPlan): Promise<{ maxScheduleLagMs: number }> {
  const inFlight = new Set<Promise<unknown>>();
  let maxScheduleLagMs = 0;
  let i = 0;
  await sleepUntil(plan.startAtMs + (plan.calls > 0 ? plan.offsetMs(0) : 0));
  while (i < plan.calls) {
    const now = wallNowMs();
    while (i < plan.calls && plan.startAtMs + plan.offsetMs(i) <= now) {
      const lateByMs = now - (plan.startAtMs + plan.offsetMs(i));
      maxScheduleLagMs = Math.max(maxScheduleLagMs, lateByMs);
      // Lateness within the scheduler's own resolution (two ticks) is not the service's doing.
      const p = timedIssue(pool, log, plan.target(i++), false, Math.max(0, lateByMs - 2 * TICK_MS));
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
    // Always a timer, never a bare microtask: answers must be read while calls are being sent.
    if (i < plan.calls) await sleepMs(TICK_MS);
  }
  await Promise.all(inFlight);
  return { maxScheduleLagMs: Math.round(maxScheduleLagMs) };
}
