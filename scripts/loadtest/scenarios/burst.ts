import { runClosedLoop } from "../drivers/closed-loop.js";
import { prepareCampaigns, waitForOpening } from "./prepare.js";
import { callsTo, type Scenario } from "./scenario.js";

/** A campaign opens and `calls` callers fire at once, `concurrency` at a time, as fast as answered. */
export const burst: Scenario = async (ctx) => {
  const o = ctx.options;
  const { runs, startMs } = await prepareCampaigns(ctx, [{ name: `loadtest burst ${ctx.runTag}`, coupons: o.coupons }]);
  await waitForOpening(ctx, startMs);
  await runClosedLoop(ctx.pool, ctx.log, { calls: o.calls, concurrency: o.concurrency, target: callsTo(ctx, runs[0]!) });
  return { campaigns: runs, violations: [], maxScheduleLagMs: 0 };
};
