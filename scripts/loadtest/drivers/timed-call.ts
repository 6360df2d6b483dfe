import { wallNowMs } from "../clock.js";
import type { IssuePool } from "../http/issue-pool.js";
import type { CallLog, CallRecord } from "../stats/call-log.js";

/** Who one call is for: the campaign (index in the run, and its id) and a user id of its own. */
export type CallTarget = { campaign: number; campaignId: string; userId: string };

/**
 * Issues one coupon and logs it. The clock starts before the call waits for a free connection,
 * and an open-loop call that left `lateByMs` after its planned instant counts that too: when the
 * service (or the generator) falls behind, the wait is part of the latency a real caller would
 * see (no coordinated omission).
 */
export async function timedIssue(pool: IssuePool, log: CallLog, target: CallTarget, probe = false, lateByMs = 0): Promise<CallRecord> {
  log.inFlight++;
  const t0 = performance.now() - lateByMs;
  const sentAtMs = wallNowMs();
  const outcome = await pool.issue(target.campaignId, target.userId);
  const receivedAtMs = wallNowMs();
  const latencyMs = performance.now() - t0;
  log.inFlight--;
  const record = { campaign: target.campaign, userId: target.userId, sentAtMs, receivedAtMs, latencyMs, outcome, probe };
  log.add(record);
  return record;
}
