import { wallNowMs, sleepUntil } from "../clock.js";
import { createCampaigns, loadTimeoutMs, waitUntilLoaded, type CampaignRun } from "../campaigns.js";
import type { ScenarioContext } from "./scenario.js";

type Spec = { name: string; coupons: number; expect?: CampaignRun["expect"] };

/**
 * The common opening of every scenario: create the campaigns to open `leadS` from now, wait
 * until their pools are loaded, open every connection. Returns the campaigns and their start.
 * `beforeLoaded` runs right after creation (the seed's early call).
 */
export async function prepareCampaigns(
  ctx: ScenarioContext,
  specs: Spec[],
  beforeLoaded?: (runs: CampaignRun[]) => Promise<void>,
): Promise<{ runs: CampaignRun[]; startMs: number }> {
  const startMs = Math.ceil(wallNowMs() + ctx.options.leadS * 1000);
  const runs = await createCampaigns(ctx.client, specs, startMs, ctx.options.shards);
  const split = ctx.options.shards > 1 ? ` of ${ctx.options.shards} sub-pools each` : "";
  ctx.say(`created campaign${runs.length > 1 ? "s" : ""} ${runs.map((r) => r.id).join(", ")}${split}; opening at ${new Date(startMs).toISOString()}`);
  await beforeLoaded?.(runs);
  const maxCoupons = Math.max(...specs.map((s) => s.coupons));
  const loadedAt = await waitUntilLoaded(ctx.client, runs, loadTimeoutMs(maxCoupons * specs.length));
  if (loadedAt > startMs) ctx.say(`pools loaded ${Math.round(loadedAt - startMs)} ms after the start instant; calls begin now`);
  await ctx.pool.warm();
  return { runs, startMs };
}

/** Waits for the start instant of campaigns prepared above (at once if it has passed); the timed load begins. */
export async function waitForOpening(ctx: ScenarioContext, startMs: number): Promise<void> {
  ctx.say(`waiting ${Math.max(0, Math.round(startMs - wallNowMs()))} ms for the opening`);
  await sleepUntil(startMs);
  ctx.phase("load-start");
}
