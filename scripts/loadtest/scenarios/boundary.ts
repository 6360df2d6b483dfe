import { runClosedLoop } from "../drivers/closed-loop.js";
import { runOpenLoop } from "../drivers/open-loop.js";
import { constantRate } from "../drivers/schedule.js";
import { judgeStartInstant } from "./boundary-checks.js";
import { prepareCampaigns } from "./prepare.js";
import { callsTo, type Scenario } from "./scenario.js";

/**
 * Two edges of a campaign.
 *  1. The start instant: --calls calls spread evenly over --duration centred on it, against a pool
 *     big enough for all of them. Nothing answered before the instant may succeed; nothing sent
 *     after it may be refused as not started.
 *  2. The end of the pool: a pool of --coupons (a few) against --calls callers at once: exactly
 *     that many succeed, every other caller is told sold out.
 */
export const boundary: Scenario = async (ctx) => {
  const o = ctx.options;
  const { runs, startMs } = await prepareCampaigns(ctx, [
    { name: `loadtest boundary start ${ctx.runTag}`, coupons: o.calls, expect: "scenario" },
    { name: `loadtest boundary pool ${ctx.runTag}`, coupons: o.coupons },
  ]);
  const [startCampaign, smallPool] = [runs[0]!, runs[1]!];
  const windowMs = o.durationS * 1000;
  ctx.say(`calls from ${windowMs / 2} ms before the start instant to ${windowMs / 2} ms after it`);
  const schedule = constantRate(o.calls, windowMs);
  const { maxScheduleLagMs } = await runOpenLoop(ctx.pool, ctx.log, {
    calls: schedule.calls,
    startAtMs: startMs - windowMs / 2,
    offsetMs: schedule.offsetMs,
    target: callsTo(ctx, startCampaign),
  });
  ctx.say(`${o.calls} callers against a pool of ${o.coupons}`);
  await runClosedLoop(ctx.pool, ctx.log, { calls: o.calls, concurrency: o.concurrency, target: callsTo(ctx, smallPool) });
  const records = ctx.log.records.filter((r) => r.campaign === startCampaign.index && !r.probe);
  return { campaigns: runs, violations: judgeStartInstant(records, startMs), maxScheduleLagMs };
};
