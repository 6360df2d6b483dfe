import { wallNowMs } from "../clock.js";
import { runOpenLoop } from "../drivers/open-loop.js";
import { constantRate } from "../drivers/schedule.js";
import { timedIssue } from "../drivers/timed-call.js";
import { prepareCampaigns, waitForOpening } from "./prepare.js";
import { callsTo, describeOutcome, type Scenario } from "./scenario.js";

/**
 * The original Go load test: a campaign opening `lead` (3 s) after creation; one call before the
 * opening must be refused; then `calls` calls spread evenly over `duration`.
 */
export const seed: Scenario = async (ctx) => {
  const o = ctx.options;
  const violations: string[] = [];
  const { runs, startMs } = await prepareCampaigns(ctx, [{ name: `loadtest seed ${ctx.runTag}`, coupons: o.coupons }], async ([run]) => {
    const early = await timedIssue(ctx.pool, ctx.log, { campaign: 0, campaignId: run!.id, userId: `lt-${ctx.runTag}-early` }, true);
    const ahead = Math.round(run!.startMs - early.receivedAtMs);
    if (early.outcome.ok || early.outcome.error !== "failed_precondition") {
      violations.push(`the early call, answered ${ahead} ms before the start instant, got ${describeOutcome(early.outcome)} instead of failed_precondition`);
    }
  });
  const run = runs[0]!;
  await waitForOpening(ctx, startMs);
  const schedule = constantRate(o.calls, o.durationS * 1000);
  const { maxScheduleLagMs } = await runOpenLoop(ctx.pool, ctx.log, {
    calls: schedule.calls,
    startAtMs: wallNowMs(),
    offsetMs: schedule.offsetMs,
    target: callsTo(ctx, run),
  });
  return { campaigns: runs, violations, maxScheduleLagMs };
};
