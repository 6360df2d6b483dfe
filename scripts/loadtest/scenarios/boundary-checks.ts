import type { CallRecord } from "../stats/call-log.js";
import { countsList } from "../verify/examples.js";

/**
 * The start-instant rules, judged from the generator's own clock (the same system clock the
 * service's Redis reads on this machine):
 *  - no call answered before the instant succeeded, so the first success comes at or after it;
 *  - no call sent at or after the instant was refused as not started;
 *  - the only refusal is failed_precondition (the pool holds a code for every call);
 *  - the calls really straddled the instant (else nothing was tested).
 */
export function judgeStartInstant(records: readonly CallRecord[], startMs: number): string[] {
  const violations: string[] = [];
  const successes = records.filter((r) => r.outcome.ok);
  const earlyWins = successes.filter((r) => r.receivedAtMs < startMs);
  if (earlyWins.length > 0) {
    const first = earlyWins.reduce((m, r) => Math.min(m, r.receivedAtMs), Infinity);
    violations.push(`${earlyWins.length} calls succeeded before the start instant (the first answered ${startMs - first} ms before it)`);
  }
  const lateRefusals = records.filter((r) => !r.outcome.ok && r.outcome.error === "failed_precondition" && r.sentAtMs >= startMs);
  if (lateRefusals.length > 0) {
    const latest = lateRefusals.reduce((m, r) => Math.max(m, r.sentAtMs), -Infinity);
    violations.push(`${lateRefusals.length} calls sent at or after the start instant were refused as not started (the latest sent ${latest - startMs} ms after it)`);
  }
  const others = new Map<string, number>();
  for (const r of records) if (!r.outcome.ok && r.outcome.error !== "failed_precondition") others.set(r.outcome.error, (others.get(r.outcome.error) ?? 0) + 1);
  if (others.size > 0) {
    violations.push(`around the start instant, with a code for every caller, calls failed with ${countsList(others)}`);
  }
  const before = records.filter((r) => r.sentAtMs < startMs).length;
  if (before === 0 || successes.length === 0) {
    violations.push(`the calls did not straddle the start instant (${before} sent before it, ${successes.length} succeeded): nothing was tested; raise --lead`);
  }
  return violations;
}
