import type { CallRecord } from "../stats/call-log.js";
import { countsList } from "../verify/examples.js";

/** A refusal that says the campaign is paused (failed_precondition's message tells the reasons apart). */
export const isPausedRefusal = (r: CallRecord): boolean =>
  !r.outcome.ok && r.outcome.error === "failed_precondition" && r.outcome.message.endsWith(" is paused");

/** A refusal that says the campaign has ended. */
export const isEndedRefusal = (r: CallRecord): boolean =>
  !r.outcome.ok && r.outcome.error === "failed_precondition" && r.outcome.message.includes(" has ended;");

/** The instants of a pause, by the generator's wall clock (the clock Redis reads on this machine). */
export type PauseWindow = { pauseCalledAt: number; pauseReturnedAt: number; resumeCalledAt: number; resumeReturnedAt: number };

/**
 * The pause rules, judged from the callers' side:
 *  - nothing sent after PauseCampaign returned and answered before ResumeCampaign was called
 *    succeeded, and every "paused" refusal falls inside the pause;
 *  - the issued count read during the pause never moved;
 *  - first come, first served around it: every call that was not refused as paused got a code
 *    until the pool was empty (exactly min(coupons, calls − paused refusals) successes), and the
 *    only other refusal is sold out, once it really is;
 *  - the pause really happened mid-burst (codes were issued after the resume).
 */
export function judgePause(records: readonly CallRecord[], coupons: number, w: PauseWindow, issuedReads: readonly number[]): string[] {
  const violations: string[] = [];
  const successes = records.filter((r) => r.outcome.ok);
  const paused = records.filter(isPausedRefusal);
  const inside = successes.filter((r) => r.sentAtMs > w.pauseReturnedAt && r.receivedAtMs < w.resumeCalledAt);
  if (inside.length > 0) violations.push(`${inside.length} calls sent and answered while the campaign was paused succeeded`);
  const stray = paused.filter((r) => r.receivedAtMs < w.pauseCalledAt || r.sentAtMs > w.resumeReturnedAt);
  if (stray.length > 0) violations.push(`${stray.length} calls were refused as paused outside the pause`);
  const moved = [...new Set(issuedReads)];
  if (moved.length > 1) violations.push(`the issued count moved during the pause: ${moved.join(" → ")}`);

  const expected = Math.min(coupons, records.length - paused.length);
  if (successes.length !== expected) {
    violations.push(`${successes.length} calls succeeded; with ${paused.length} refused as paused, expected exactly ${expected}`);
  }
  const soldOut = records.filter((r) => !r.outcome.ok && r.outcome.error === "resource_exhausted").length;
  if (soldOut > 0 && successes.length < coupons) {
    violations.push(`${soldOut} calls were told sold out while only ${successes.length} of ${coupons} coupons had been issued`);
  }
  const others = new Map<string, number>();
  for (const r of records) {
    if (r.outcome.ok || isPausedRefusal(r) || r.outcome.error === "resource_exhausted") continue;
    others.set(r.outcome.error, (others.get(r.outcome.error) ?? 0) + 1);
  }
  if (others.size > 0) violations.push(`around the pause, calls failed with ${countsList(others)}`);
  if (paused.length === 0 || !successes.some((r) => r.sentAtMs > w.resumeReturnedAt)) {
    violations.push(`the pause did not fall mid-burst (${paused.length} refused as paused, none issued after the resume): nothing was tested; raise --calls`);
  }
  return violations;
}

/**
 * The end-instant rules: no call sent at or after the end instant succeeded; no call answered
 * before it was refused as ended; the only refusal is "ended" (the pool holds a code for every
 * call); no issue is stamped at or after the end; the calls straddled the instant.
 */
export function judgeEndInstant(records: readonly CallRecord[], endMs: number, issuedAtMs: readonly number[]): string[] {
  const violations: string[] = [];
  const successes = records.filter((r) => r.outcome.ok);
  const late = successes.filter((r) => r.sentAtMs >= endMs);
  if (late.length > 0) {
    const latest = late.reduce((m, r) => Math.max(m, r.sentAtMs), -Infinity);
    violations.push(`${late.length} calls sent at or after the end instant succeeded (the latest sent ${latest - endMs} ms after it)`);
  }
  const early = records.filter((r) => isEndedRefusal(r) && r.receivedAtMs < endMs);
  if (early.length > 0) violations.push(`${early.length} calls were refused as ended before the end instant`);
  const stamped = issuedAtMs.filter((t) => t >= endMs).length;
  if (stamped > 0) violations.push(`${stamped} coupons carry an issue time at or after the end instant`);
  const others = new Map<string, number>();
  for (const r of records) if (!r.outcome.ok && !isEndedRefusal(r)) others.set(r.outcome.error, (others.get(r.outcome.error) ?? 0) + 1);
  if (others.size > 0) violations.push(`around the end instant, with a code for every caller, calls failed with ${countsList(others)}`);
  const after = records.filter((r) => r.sentAtMs >= endMs).length;
  if (after === 0 || successes.length === 0) {
    violations.push(`the calls did not straddle the end instant (${successes.length} succeeded, ${after} sent after it): nothing was tested`);
  }
  return violations;
}
