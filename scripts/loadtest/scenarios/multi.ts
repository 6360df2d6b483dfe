import { runClosedLoop } from "../drivers/closed-loop.js";
import { prepareCampaigns, waitForOpening } from "./prepare.js";
import { userIdOf, type Scenario } from "./scenario.js";

/**
 * --campaigns campaigns of --coupons each open at the same instant; --calls callers in total are
 * dealt round-robin across them and fire as fast as answered.
 */
export const multi: Scenario = async (ctx) => {
  const o = ctx.options;
  const specs = Array.from({ length: o.campaigns }, (_, k) => ({ name: `loadtest multi ${ctx.runTag} #${k + 1}`, coupons: o.coupons }));
  const { runs, startMs } = await prepareCampaigns(ctx, specs);
  await waitForOpening(ctx, startMs);
  await runClosedLoop(ctx.pool, ctx.log, {
    calls: o.calls,
    concurrency: o.concurrency,
    target: (i) => {
      const run = runs[i % runs.length]!;
      return { campaign: run.index, campaignId: run.id, userId: userIdOf(ctx, run.index, i) };
    },
  });
  return { campaigns: runs, violations: [], maxScheduleLagMs: 0 };
};
