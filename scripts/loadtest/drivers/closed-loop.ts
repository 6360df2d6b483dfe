import type { IssuePool } from "../http/issue-pool.js";
import type { CallLog } from "../stats/call-log.js";
import { timedIssue, type CallTarget } from "./timed-call.js";

/**
 * `calls` calls as fast as the service answers: `concurrency` callers, each sending its next
 * call the moment the previous one is answered. This is the burst at an opening.
 */
export async function runClosedLoop(
  pool: IssuePool,
  log: CallLog,
  plan: { calls: number; concurrency: number; target: (i: number) => CallTarget },
): Promise<void> {
  let next = 0;
  const caller = async () => {
    while (next < plan.calls) await timedIssue(pool, log, plan.target(next++));
  };
  await Promise.all(Array.from({ length: Math.min(plan.concurrency, plan.calls) }, caller));
}
