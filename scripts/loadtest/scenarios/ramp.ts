import { wallNowMs } from "../clock.js";
import { runOpenLoop } from "../drivers/open-loop.js";
import { rampRate } from "../drivers/schedule.js";
import { prepareCampaigns, waitForOpening } from "./prepare.js";
import { callsTo, type Scenario } from "./scenario.js";

/** From the opening, the arrival rate rises linearly from --rate FROM to TO over --duration. */
export const ramp: Scenario = async (ctx) => {
  const o = ctx.options;
  const { fromRps, toRps } = o.rate!;
  const { runs, startMs } = await prepareCampaigns(ctx, [{ name: `loadtest ramp ${ctx.runTag}`, coupons: o.coupons }]);
  await waitForOpening(ctx, startMs);
  const schedule = rampRate(fromRps, toRps, o.durationS * 1000);
  const { maxScheduleLagMs } = await runOpenLoop(ctx.pool, ctx.log, {
    calls: schedule.calls,
    startAtMs: wallNowMs(),
    offsetMs: schedule.offsetMs,
    target: callsTo(ctx, runs[0]!),
  });
  return { campaigns: runs, violations: [], maxScheduleLagMs };
};
