import { sleepMs, wallNowMs } from "../clock.js";
import { loadTimeoutMs, waitUntilLoaded, type CampaignRun } from "../campaigns.js";
import { runClosedLoop } from "../drivers/closed-loop.js";
import { runOpenLoop } from "../drivers/open-loop.js";
import { constantRate } from "../drivers/schedule.js";
import { RpcError } from "../rpc/control-client.js";
import { isPausedRefusal, judgeEndInstant, judgePause, type PauseWindow } from "./lifecycle-checks.js";
import { prepareCampaigns, waitForOpening } from "./prepare.js";
import { callsTo, type Scenario, type ScenarioContext } from "./scenario.js";

/** How often the scenario looks at the running load (successes, refusals), in ms. */
const WATCH_MS = 5;
/** The longest a pause is held while waiting for refused calls, in ms. */
const MAX_PAUSE_MS = 5000;
/** Part 2's arrival rate, calls/s: well within what this machine serves, so answers are prompt. */
const END_RATE_RPS = 1000;

/**
 * The campaign lifecycle under load, in two parts.
 *  1. Pause and resume mid-burst: --calls callers against --coupons coupons; once a third of the
 *     coupons are issued the campaign is paused, held until a good number of calls were refused
 *     as paused (the issued count is read meanwhile and must not move), then resumed. The burst
 *     goes on throughout; the total must come out exact.
 *  2. The end instant: calls spread evenly over --duration centred on a campaign's end_time, at
 *     1,000 calls/s (at most --calls), with a code for every call: nothing sent after the
 *     instant may succeed.
 * Both campaigns then go through the run's integrity verdict (counts, sequences, codes,
 * GetCampaign, owners in MySQL).
 */
export const lifecycle: Scenario = async (ctx) => {
  const o = ctx.options;
  const { runs, startMs } = await prepareCampaigns(ctx, [
    { name: `loadtest lifecycle pause ${ctx.runTag}`, coupons: o.coupons, expect: "scenario" },
  ]);
  const pausing = runs[0]!;
  await waitForOpening(ctx, startMs);
  const { window, issuedReads } = await burstWithPause(ctx, pausing);
  const pauseRecords = ctx.log.records.filter((r) => r.campaign === pausing.index && !r.probe);
  const violations = judgePause(pauseRecords, o.coupons, window, issuedReads);
  pausing.finalState = pauseRecords.filter((r) => r.outcome.ok).length === o.coupons ? "CAMPAIGN_STATE_SOLD_OUT" : "CAMPAIGN_STATE_OPEN";

  const endCalls = Math.min(o.calls, Math.max(1, Math.round(END_RATE_RPS * o.durationS)));
  const { run: ending, endMs } = await createEndingCampaign(ctx, 1, endCalls);
  const windowMs = o.durationS * 1000;
  ctx.say(`${endCalls} calls from ${windowMs / 2} ms before the end instant to ${windowMs / 2} ms after it`);
  const schedule = constantRate(endCalls, windowMs);
  const { maxScheduleLagMs } = await runOpenLoop(ctx.pool, ctx.log, {
    calls: schedule.calls,
    startAtMs: endMs - windowMs / 2,
    offsetMs: schedule.offsetMs,
    target: callsTo(ctx, ending),
  });
  const issued = await ctx.client.listAllIssued(ending.id, Math.ceil(endCalls / 1000) + 2);
  const endRecords = ctx.log.records.filter((r) => r.campaign === ending.index && !r.probe);
  violations.push(...judgeEndInstant(endRecords, endMs, issued.map((c) => c.issuedAtMs)));
  return { campaigns: [pausing, ending], violations, maxScheduleLagMs };
};

/** Part 1: the burst, with a pause in its middle. */
async function burstWithPause(ctx: ScenarioContext, run: CampaignRun): Promise<{ window: PauseWindow; issuedReads: number[] }> {
  const o = ctx.options;
  const ofRun = () => ctx.log.records.filter((r) => r.campaign === run.index);
  const load = runClosedLoop(ctx.pool, ctx.log, { calls: o.calls, concurrency: o.concurrency, target: callsTo(ctx, run) });
  let loadDone = false;
  void load.finally(() => (loadDone = true));

  const pauseAt = Math.ceil(o.coupons / 3);
  while (!loadDone && ofRun().filter((r) => r.outcome.ok).length < pauseAt) await sleepMs(WATCH_MS);
  const pauseCalledAt = wallNowMs();
  await ctx.client.call("PauseCampaign", { campaignId: run.id });
  const pauseReturnedAt = wallNowMs();
  ctx.say(`paused campaign ${run.id} after ${pauseAt} codes`);

  // Hold the pause until the load has been refused a good number of times, reading the count.
  const wantRefusals = Math.min(1000, Math.ceil(o.calls / 10));
  const issuedReads: number[] = [];
  while (!loadDone && wallNowMs() - pauseReturnedAt < MAX_PAUSE_MS) {
    issuedReads.push((await ctx.client.getCampaign(run.id)).campaign.issued);
    if (ofRun().filter((r) => isPausedRefusal(r) && r.sentAtMs > pauseReturnedAt).length >= wantRefusals) break;
    await sleepMs(WATCH_MS);
  }
  const resumeCalledAt = wallNowMs();
  await ctx.client.call("ResumeCampaign", { campaignId: run.id });
  const resumeReturnedAt = wallNowMs();
  ctx.say(`resumed campaign ${run.id}; ${issuedReads.length} reads of the issued count during the pause`);
  await load;
  return { window: { pauseCalledAt, pauseReturnedAt, resumeCalledAt, resumeReturnedAt }, issuedReads };
}

/**
 * Part 2's campaign: open at once, with a code for every call, ending --lead seconds plus half
 * the window from now, so its pool is loaded before the first call.
 */
async function createEndingCampaign(ctx: ScenarioContext, index: number, coupons: number): Promise<{ run: CampaignRun; endMs: number }> {
  const o = ctx.options;
  const startMs = wallNowMs();
  const endMs = Math.ceil(startMs + o.leadS * 1000 + (o.durationS * 1000) / 2);
  const res = await ctx.client.call<{ campaignId?: string }>("CreateCampaign", {
    name: `loadtest lifecycle end ${ctx.runTag}`,
    startTime: new Date(startMs).toISOString(),
    endTime: new Date(endMs).toISOString(),
    totalCoupons: coupons,
    // This campaign has a code per call of part 2, which may be fewer than --coupons.
    ...(o.shards > 1 ? { shards: Math.min(o.shards, coupons) } : {}),
  });
  if (!res.campaignId) throw new RpcError("internal", "CreateCampaign answered without a campaign id");
  const run: CampaignRun = { index, id: res.campaignId, coupons, shards: Math.min(o.shards, coupons), startMs, expect: "scenario", finalState: "CAMPAIGN_STATE_ENDED" };
  ctx.say(`created campaign ${run.id}; ending at ${new Date(endMs).toISOString()}`);
  const loadedAt = await waitUntilLoaded(ctx.client, [run], loadTimeoutMs(coupons));
  if (loadedAt > endMs - (o.durationS * 1000) / 2) ctx.say(`pool loaded ${Math.round(loadedAt - endMs)} ms relative to the end instant; raise --lead`);
  return { run, endMs };
}
